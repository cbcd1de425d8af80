"""The projector's check that it read a ledger partition without a gap (services/projector/ledger_chain.py)."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from services.projector.ledger_chain import follow
from shared.bus import partition_for


def test_reading_in_order_moves_to_the_newest_position() -> None:
    assert follow(0, [(0, 3, 0), (1, 7, 3), (2, 9, 7)]) == 9
    assert follow(9, [(3, 12, 9)]) == 12


def test_a_re_sent_batch_and_a_refills_older_events_are_not_a_gap() -> None:
    # the relay re-sent 7 and 9 after a crash, then went on
    assert follow(9, [(3, 7, 3), (4, 9, 7), (5, 12, 9)]) == 12
    # a refill from position 1: every event at or below the newest read, then the chain goes on
    assert follow(9, [(0, 3, 0), (1, 7, 3), (2, 9, 7), (3, 12, 9)]) == 12


def test_an_event_whose_predecessor_was_not_read_breaks_the_chain() -> None:
    # read up to 7 on the old ledger; the refilled one holds 9 where 7's successor was expected
    assert follow(7, [(2, 9, 7), (3, 12, 9)]) == 12  # no gap
    assert follow(3, [(2, 9, 7)]) is None  # 7 was never read
    assert follow(3, [(1, 7, 3), (3, 12, 9)]) is None  # a gap inside a batch


def test_nothing_is_skipped_before_offset_0_and_an_unknown_predecessor_is_not_checked() -> None:
    # events published after a loss, before the relay noticed it: chained to the old ledger's last
    assert follow(0, [(0, 101, 46), (1, 102, 101)]) == 102
    assert follow(46, [(5, 50, None)]) == 50  # published before the chain


def test_the_relay_names_the_partition_the_producer_would_have_picked() -> None:
    for key in (b"unit/ha-noi", "unit/thừa-thiên-huế".encode(), b"target/x/2025", b""):
        for partitions in (1, 3, 12):
            assert partition_for(key, partitions) == DefaultPartitioner()(key, list(range(partitions)), [])
    assert len({partition_for(f"unit/u{n}".encode(), 3) for n in range(30)}) == 3
