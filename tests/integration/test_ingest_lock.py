"""A big import holds the append lock only to write: it parses, stages and checks every row first, with
other submissions going on meanwhile; under the lock the checks run again only when what they read has
changed since, so two submissions racing on the same unit can never both pass a check the other breaks."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal

import asyncpg
import pytest

from services.ingest.errors import SubmissionRejected
from services.ingest.figure_intake import FigureIntake
from services.ingest.figure_rows import FigureRow
from shared import locks
from shared.auth import Principal
from shared.db import create_pool
from shared.event_store import Submitter
from shared.events import Indicator
from shared.settings import Settings
from tests.integration.ingest_fixtures import TODAY, Ingest
from tests.kafka_helpers import eventually

pytestmark = pytest.mark.postgres
ADMIN = Principal("admin", "admin", ())


def figure(row: int, unit: str, as_of: dt.date, amount: int) -> FigureRow:
    return FigureRow(row, unit, Indicator.DISBURSEMENT, 2025, "central_budget", "", as_of, "cumulative",
                     Decimal(amount), None)  # fmt: skip


def gated_rows(unit: str, count: int, reached: threading.Event, gate: threading.Event) -> Iterator[FigureRow | None]:
    """A file's rows, read as a parser would, that stop half-way (`reached`) until `gate` opens: a slow file."""
    start = dt.date(2025, 1, 1)
    for n in range(count):
        if n == count // 2:
            reached.set()
            assert gate.wait(60), "the gate never opened"
        yield figure(n + 2, unit, start + dt.timedelta(days=n), 1_000 * (n + 1))


async def _waiting_on_locks(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ))  # fmt: skip


async def test_another_report_is_stored_while_a_big_import_is_still_being_read(ingest: Ingest) -> None:
    intake = FigureIntake(ingest.pool, clock=lambda: TODAY)
    reached, gate = threading.Event(), threading.Event()
    big = asyncio.create_task(
        intake.submit(gated_rows("lam-dong", 300, reached, gate), ADMIN, Submitter("admin", "upload"), b"big")
    )

    async def half_read() -> bool:
        return reached.is_set()

    try:
        await eventually(half_read, timeout_s=30, what="the import half-read")
        # The import is mid-file. Before, it held the append lock from its first row: this waited for it.
        single = intake.submit([figure(1, "hue", dt.date(2025, 5, 31), 7)], ADMIN, Submitter("admin", "api"), b"one")
        result = await asyncio.wait_for(single, timeout=30)
        assert result.stored == 1 and not big.done()
    finally:
        gate.set()
    assert (await big).stored == 300


async def test_two_reports_racing_on_one_unit_cannot_both_pass_the_check_the_other_breaks(ingest: Ingest) -> None:
    intake = FigureIntake(ingest.pool, clock=lambda: TODAY)
    may_2025, june_2025 = dt.date(2025, 5, 31), dt.date(2025, 6, 30)
    async with ingest.pool.acquire() as blocker, blocker.transaction():
        await blocker.execute(locks.STORE_APPEND)  # both will have checked before either may write
        # Each alone is fine; together June's cumulative would fall below May's.
        may = asyncio.create_task(intake.submit([figure(1, "lam-dong", may_2025, 900)], ADMIN,
                                                Submitter("admin", "api"), b"may"))  # fmt: skip
        await eventually(lambda: _waiting(ingest.pool, 1), timeout_s=30, what="the first at the lock")
        june = asyncio.create_task(intake.submit([figure(1, "lam-dong", june_2025, 500)], ADMIN,
                                                 Submitter("admin", "api"), b"june"))  # fmt: skip
        await eventually(lambda: _waiting(ingest.pool, 2), timeout_s=30, what="both at the lock")
    outcomes = await asyncio.gather(may, june, return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, SubmissionRejected)]
    stored = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(refused) == 1 and len(stored) == 1, outcomes
    assert refused[0].errors[0].field == "amount" and "cumulative" in refused[0].errors[0].reason


async def _waiting(pool: asyncpg.Pool, count: int) -> bool:
    return await _waiting_on_locks(pool) >= count


async def test_many_submissions_at_once_on_a_small_pool_all_complete(ingest: Ingest, settings: Settings) -> None:
    """Each submission works on the one connection it holds: one that waited for a second would deadlock
    the pool once as many submissions as connections ran at once (as the bench's 200 reports/s did)."""
    small = await create_pool(str(settings.database_url), max_size=2)
    try:
        intake = FigureIntake(small, clock=lambda: TODAY)
        reports = [
            intake.submit(
                [figure(1, "hue", dt.date(2025, 5, 1) + dt.timedelta(days=n), 10 * (n + 1))],
                ADMIN,
                Submitter("admin", "api"),
                b"",
            )
            for n in range(6)
        ]
        results = await asyncio.wait_for(asyncio.gather(*reports), timeout=30)
        assert [r.stored for r in results] == [1] * 6
    finally:
        await small.close()
