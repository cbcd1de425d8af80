"""How waiting reports are handed to writers (services/ingest/report_batches.py), with writers of the test's
own: who goes with whom, and that every report gets an answer of its own whatever the writers do."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest

from services.ingest import report_batches
from services.ingest.errors import ErrorLog, RowError, SubmissionRejected
from services.ingest.figure_rows import FigureRow
from services.ingest.report_batches import NotTogether, Report, ReportBatches, Written
from shared.auth import Principal
from shared.event_store import Submitter
from shared.events import Indicator
from shared.observability import REPORTS_PER_TRANSACTION
from tests.kafka_helpers import eventually


def report(unit: str, key: str | None = None) -> Report:
    row = FigureRow(1, unit, Indicator.DISBURSEMENT, 2025, "central_budget", "", dt.date(2025, 6, 30), "cumulative",
                    Decimal(1000), None)  # fmt: skip
    submitter = Submitter("so-tai-chinh", "http", source="so-tai-chinh" if key else None, idempotency_key=key)
    return Report([row], Principal("so-tai-chinh", "department", (unit,)), submitter, b"", ErrorLog(), False)


class Writers:
    """Writes nothing; records who was written with whom. The first reports written alone wait for `gate`."""

    def __init__(self, held: int, refuse_together: bool = False, not_clean: str = "") -> None:
        self.gate = asyncio.Event()
        self.alone: list[str] = []
        self.together: list[list[str]] = []
        self._held, self._refuse, self._not_clean = held, refuse_together, not_clean

    async def write_alone(self, one: Report) -> Written:
        self.alone.append(min(one.units))
        if len(self.alone) <= self._held:
            await self.gate.wait()
        if "bad" in one.units:
            raise SubmissionRejected([RowError(1, "unit_code", "bad", "unknown unit")])
        return None, len(self.alone)

    async def write_together(self, batch: list[Report]) -> list[Written | None]:
        self.together.append([min(r.units) for r in batch])
        if self._refuse:
            raise NotTogether("not clean")
        return [None if self._not_clean in r.units else (None, 100 + n) for n, r in enumerate(batch)]


async def _all_waiting(batches: ReportBatches, count: int) -> None:
    async def waiting() -> bool:
        return batches.waiting >= count

    await eventually(waiting, timeout_s=10, what=f"{count} reports waiting")


def _written_together() -> float:
    """Reports written in transactions of more than one, by the metric."""
    histogram = next(iter(REPORTS_PER_TRANSACTION.collect())).samples
    total = next(s.value for s in histogram if s.name.endswith("_sum"))
    alone = next(s.value for s in histogram if s.name.endswith("_bucket") and s.labels["le"] == "1.0")
    return float(total - alone)


async def sent_while_busy(writers: Writers, waiting: list[Report]) -> list[Written | BaseException]:
    """Send `waiting` while every writer is busy with a report of its own, then free the writers; the answers
    (or errors) of `waiting`, in their order."""
    batches = ReportBatches(writers.write_alone, writers.write_together)
    busy = [asyncio.create_task(batches.submit(report(f"busy-{n}"))) for n in range(report_batches.WRITERS)]
    answers = [asyncio.create_task(batches.submit(r)) for r in waiting]
    await _all_waiting(batches, len(waiting))
    writers.gate.set()
    await asyncio.gather(*busy)
    return await asyncio.gather(*answers, return_exceptions=True)


@pytest.fixture(autouse=True)
def busy_for_ever(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_batches, "SLOW_S", 120)  # a gated writer stays busy


async def test_reports_that_wait_go_together_but_never_two_for_one_unit_or_one_key() -> None:
    writers = Writers(held=report_batches.WRITERS)
    together_before = _written_together()
    waiting = [report("a", "k1"), report("b", "k2"), report("a", "k3"), report("c", "k1"), report("d")]
    answers = await sent_while_busy(writers, waiting)
    assert answers == [(None, 100), (None, 101), (None, 100), (None, 101), (None, 102)]
    assert _written_together() - together_before == 5  # what an operator reads in /metrics
    # "a" again and key k1 again wait for the next batch; one without a key goes with anyone
    assert writers.together == [["a", "b", "d"], ["a", "c"]]


async def test_a_batch_refused_is_written_report_by_report_each_with_its_own_answer() -> None:
    writers = Writers(held=report_batches.WRITERS, refuse_together=True)
    a, bad, c = await sent_while_busy(writers, [report(unit) for unit in ("a", "bad", "c")])
    assert writers.together == [["a", "bad", "c"]]
    assert a == (None, 2) and c == (None, 4) and isinstance(bad, SubmissionRejected)
    assert writers.alone[-3:] == ["a", "bad", "c"]


async def test_a_quiet_api_writes_each_report_alone_as_it_comes() -> None:
    writers = Writers(held=0)
    batches = ReportBatches(writers.write_alone, writers.write_together)
    for unit in ("a", "b", "c"):
        await batches.submit(report(unit))
    assert writers.alone == ["a", "b", "c"] and writers.together == []


async def test_no_report_is_left_waiting_when_its_writer_is_cancelled() -> None:
    started = asyncio.Event()

    async def never(batch: list[Report]) -> list[Written | None]:
        raise AssertionError("not reached")

    async def alone(one: Report) -> Written:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("not reached")

    batches = ReportBatches(alone, never)
    answer = asyncio.create_task(batches.submit(report("a")))
    await asyncio.wait_for(started.wait(), 10)
    for task in list(batches._writing):  # the API stopping
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(answer, 10)


async def test_a_report_that_is_not_clean_leaves_the_batch_and_is_written_alone() -> None:
    writers = Writers(held=report_batches.WRITERS, not_clean="bad")
    a, bad, c = await sent_while_busy(writers, [report(unit) for unit in ("a", "bad", "c")])
    assert writers.together == [["a", "bad", "c"]]
    assert a == (None, 100) and c == (None, 102) and isinstance(bad, SubmissionRejected)
    assert writers.alone[-1] == "bad"  # only the one not clean, answered by the lone report's code


async def test_a_report_waits_while_another_of_its_unit_is_written_however_slow_and_the_others_go_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Taken at once, it would only wait in PostgreSQL for the first one's lock (and a batch meeting that lock
    sent its reports alone: a spiral under a burst)."""
    monkeypatch.setattr(report_batches, "SLOW_S", 0.01)
    writers = Writers(held=1)  # the first report written waits for the gate
    batches = ReportBatches(writers.write_alone, writers.write_together)
    first = asyncio.create_task(batches.submit(report("a")))

    async def counted_slow() -> bool:
        return not batches._writing  # its writer's place given up: the next reports are dispatched

    await eventually(counted_slow, timeout_s=10, what="the first writer counted slow")
    second = asyncio.create_task(batches.submit(report("a")))
    assert await asyncio.wait_for(batches.submit(report("b")), 10) == (None, 2)  # another unit's: at once
    assert not second.done() and batches.waiting == 1
    writers.gate.set()
    await asyncio.wait_for(first, 10)
    assert await asyncio.wait_for(second, 10) == (None, 3)
    assert writers.alone == ["a", "b", "a"]
