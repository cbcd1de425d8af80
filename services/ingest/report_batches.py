"""Single reports committed several to a transaction: a group commit.

At a few hundred reports a second, a report's transaction cost the API's process and PostgreSQL about the same
CPU (2–3 ms each on a 2-core machine, issue 28), nearly all of it per statement and per round trip, not per
row. So the reports that arrive while the writers are busy wait and are then written together: one
transaction, its statements shared by all of them, each report still appended as a submission of its own
(its positions, receipt, idempotency record and event ids). A quiet API writes each report as it comes.

A writer slower than `SLOW_S` (a report waiting for a unit a file import holds, a large report) stops counting
among the busy ones, so it never holds the others up.

A batch holds only reports for different units and under different idempotency keys, so no report's checks
can see another's rows. A report that is not clean (a row that fails a check, a key sent before, a unit
outside its sender's scope) is taken out of the batch and written alone, by the code that writes a lone
report: whatever goes wrong, each answer, error and row number is the report's own, and one bad report does
not cost the others their batch. So is a report for a unit another transaction holds (a file being imported, a
report written alone): it waits for the unit alone while the others are committed together. (When such a unit
sent the whole batch alone, a burst past the writer's pace fell into a spiral: a batch's reports written alone
at once held their units, the next batch met them and was written alone too, and at 700 reports a second
every batch was.)
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from services.ingest.errors import ErrorLog
from services.ingest.figure_rows import FigureRow
from shared.auth import Principal
from shared.event_store import AppendResult, Submitter
from shared.observability import REPORTS_PER_TRANSACTION

log = logging.getLogger(__name__)

# One writer: while it commits, the next reports gather, and they go together. The bench's ladder (the highest
# rate with p99 under a second; two runs each, alternating, another bench running beside them): one writer 600
# and 800 reports/s, two 500 and 350, four 300 and 300 — more writers, smaller batches, whose transactions then
# queue on the append lock anyway.
WRITERS = 1
MOST_PER_BATCH = 64
SLOW_S = 0.2  # a report's transaction takes a few ms; one waiting longer (on locks) frees its writer's place

Written = tuple[AppendResult | None, int]  # what was appended (None: nothing), and the report's rows


@dataclass(eq=False)
class Report:
    rows: list[FigureRow | None]
    principal: Principal
    submitter: Submitter
    digest: bytes
    errors: ErrorLog
    store_valid: bool
    done: asyncio.Future[Written] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    context: contextvars.Context = field(default_factory=contextvars.copy_context)  # its request's, for the logs

    @functools.cached_property
    def units(self) -> frozenset[str]:  # looked at for every report a batch passes over
        return frozenset(row.unit_code for row in self.rows if row is not None)

    @property
    def key(self) -> tuple[str | None, str] | None:
        key = self.submitter.idempotency_key
        return None if key is None else (self.submitter.source, key)

    @property
    def may_join(self) -> bool:
        """A report with rows that failed to parse, or none, is written alone: its errors are already logged."""
        return bool(self.rows) and all(row is not None for row in self.rows)


class NotTogether(Exception):
    """The batch is not the clean case: roll it back and write each report alone."""


class ReportBatches:
    """Hands waiting reports to at most `WRITERS` writers, each taking every report it can write with the
    first one waiting. `together` writes a batch of two or more in one transaction (its results in the
    batch's order), raising to have them written `alone`."""

    def __init__(
        self,
        alone: Callable[[Report], Awaitable[Written]],
        together: Callable[[list[Report]], Awaitable[list[Written | None]]],
    ) -> None:
        self._alone, self._together = alone, together
        self._waiting: deque[Report] = deque()
        self._writing: set[asyncio.Task[None]] = set()
        self._units_written: Counter[str] = Counter()  # the units of every report a writer has, slow ones too

    @property
    def waiting(self) -> int:
        """Reports waiting for a writer."""
        return len(self._waiting)

    async def submit(self, report: Report) -> Written:
        self._waiting.append(report)
        self._dispatch()
        # Shielded: a caller that goes away (its client hung up) leaves the batch its report is in alone.
        return await asyncio.shield(report.done)

    def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting and len(self._writing) < WRITERS:
            batch = self._take()
            if not batch:  # every report waiting is for a unit being written: its writer's end dispatches again
                return
            units = [unit for report in batch for unit in report.units]
            self._units_written.update(units)
            task = loop.create_task(self._write(batch), context=batch[0].context)
            self._writing.add(task)
            slow = loop.call_later(SLOW_S, self._written, task)
            task.add_done_callback(functools.partial(self._done, slow, units))

    def _done(self, slow: asyncio.TimerHandle, units: list[str], task: asyncio.Task[None]) -> None:
        slow.cancel()
        self._units_written.subtract(units)
        self._units_written += Counter()  # (drops the units no writer has any more)
        self._writing.discard(task)
        self._dispatch()

    def _written(self, task: asyncio.Task[None]) -> None:
        """A writer done, or slow: its place goes to the next reports waiting."""
        if task in self._writing:
            self._writing.discard(task)
            self._dispatch()

    def _take(self) -> list[Report]:
        """The first report waiting for a unit no writer has, and those after it that may join it, in their
        order; none if every report waiting is for a unit being written. (A report is never taken while another
        of its unit's is written: the two would only wait for each other's locks in PostgreSQL, and a batch that
        met such a lock once sent its reports alone, whose locks the next batch met — a spiral under a burst.)"""
        passed: list[Report] = []
        batch: list[Report] = []
        units: set[str] = set()
        keys: set[tuple[str | None, str] | None] = set()
        while self._waiting and len(batch) < MOST_PER_BATCH:
            report = self._waiting.popleft()
            busy = any(unit in self._units_written for unit in report.units)
            joins = report.may_join and not units & report.units and (report.key is None or report.key not in keys)
            if busy or (batch and not joins):
                passed.append(report)
                continue
            batch.append(report)
            units |= report.units
            keys.add(report.key)
            if not report.may_join:  # written alone
                break
        self._waiting.extendleft(reversed(passed))
        return batch

    async def _write(self, batch: list[Report]) -> None:
        try:
            alone = await self._written_together(batch) if len(batch) > 1 else batch
            # At once, as if each had come alone: one waiting for a unit a file holds keeps no other waiting.
            await asyncio.gather(*(self._write_alone(report) for report in alone))
        except BaseException as error:  # cancelled (the API stopping): no report is left waiting for ever
            for report in batch:
                _fail(report, error)
            raise

    async def _write_alone(self, report: Report) -> None:
        REPORTS_PER_TRANSACTION.observe(1)
        try:
            _settle(report, await self._alone(report))
        except Exception as error:  # the report's own answer: a 422, a 409, a 503
            _fail(report, error)

    async def _written_together(self, batch: list[Report]) -> list[Report]:
        """Write `batch` in one transaction; return the reports still to be written alone."""
        try:
            results = await self._together(batch)
        except NotTogether as reason:
            log.debug("ingest: %d reports written alone: %s", len(batch), reason)
            return batch
        except Exception as error:  # written alone, each then meets the error (or not) as its own
            log.warning("ingest: %d reports written alone after %r", len(batch), error)
            return batch
        alone = []
        for report, result in zip(batch, results, strict=True):
            if result is None:
                alone.append(report)
            else:
                _settle(report, result)
        REPORTS_PER_TRANSACTION.observe(len(batch) - len(alone))
        return alone


def _settle(report: Report, result: Written) -> None:
    if not report.done.done():
        report.done.set_result(result)


def _fail(report: Report, error: BaseException) -> None:
    if not report.done.done():
        report.done.set_exception(error)
