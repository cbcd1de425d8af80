"""Which Fetch answers the client-side wait holds back (see shared/fetch_wait.py)."""

from __future__ import annotations

from types import SimpleNamespace

from shared.fetch_wait import is_empty_fetch_answer


def answer(*partitions: tuple[int, int, int, int, int, list[object], bytes | None]) -> SimpleNamespace:
    """A Fetch response: per partition (partition, error code, high watermark, last stable offset, log
    start offset, aborted transactions, records), as aiokafka decodes them."""
    return SimpleNamespace(topics=[("pim.ledger", list(partitions))])


def test_an_answer_without_records_or_errors_is_empty() -> None:
    assert is_empty_fetch_answer(answer((0, 0, 10, 10, 0, [], b""), (1, 0, 7, 7, 0, [], None)))
    assert is_empty_fetch_answer(SimpleNamespace(topics=[]))


def test_records_or_an_error_in_any_partition_make_it_not_empty() -> None:
    assert not is_empty_fetch_answer(answer((0, 0, 10, 10, 0, [], b""), (1, 0, 7, 7, 0, [], b"\x00\x01")))
    assert not is_empty_fetch_answer(answer((0, 6, -1, -1, -1, [], None)))  # NOT_LEADER_FOR_PARTITION
