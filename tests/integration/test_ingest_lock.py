"""A big import holds no lock while it parses, stages and checks every row, and not the store's append lock
while it writes them either: other units' reports are stored meanwhile, and readers see them only after
it (positions stay in the order readers follow). With the units' streams locked the checks run again only
when what they read has changed since, so two submissions racing on the same unit can never both pass a
check the other breaks."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import asyncpg
import pytest

from services.ingest.errors import SubmissionRejected
from services.ingest.figure_intake import FigureIntake, IntakeResult
from services.ingest.figure_rows import FigureRow
from shared import locks
from shared.auth import Principal
from shared.db import create_pool
from shared.event_store import EventStore, Submitter
from shared.events import Indicator
from shared.settings import Settings
from tests.integration.ingest_fixtures import TODAY, Ingest, waiting_on_locks
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


@contextlib.asynccontextmanager
async def file_half_read(intake: FigureIntake, unit: str) -> AsyncIterator[asyncio.Task[IntakeResult]]:
    """A 300-row file for `unit` being imported, its reading stopped half-way until the block ends."""
    reached, gate = threading.Event(), threading.Event()
    big = asyncio.create_task(
        intake.submit(gated_rows(unit, 300, reached, gate), ADMIN, Submitter("admin", "upload"), b"big")
    )

    async def half_read() -> bool:
        return reached.is_set()

    try:
        await eventually(half_read, timeout_s=30, what="the file half-read")
        yield big
    finally:
        gate.set()


async def test_another_report_is_stored_while_a_big_import_is_still_being_read(ingest: Ingest) -> None:
    intake = FigureIntake(ingest.pool, clock=lambda: TODAY)
    async with file_half_read(intake, "lam-dong") as big:
        # The import is mid-file. Before, it held the append lock from its first row: this waited for it.
        single = intake.submit([figure(1, "hue", dt.date(2025, 5, 31), 7)], ADMIN, Submitter("admin", "api"), b"one")
        result = await asyncio.wait_for(single, timeout=30)
        assert result.stored == 1 and not big.done()
    assert (await big).stored == 300


async def test_two_reports_racing_on_one_unit_cannot_both_pass_the_check_the_other_breaks(ingest: Ingest) -> None:
    # Two API processes' intakes (one process writes one report of a unit at a time: report_batches.py).
    intake, other_process = FigureIntake(ingest.pool, clock=lambda: TODAY), FigureIntake(ingest.pool, lambda: TODAY)
    may_2025, june_2025 = dt.date(2025, 5, 31), dt.date(2025, 6, 30)
    async with ingest.pool.acquire() as blocker, blocker.transaction():
        await blocker.execute(locks.STORE_APPEND)  # both will have checked before either may write
        # Each alone is fine; together June's cumulative would fall below May's.
        may = asyncio.create_task(intake.submit([figure(1, "lam-dong", may_2025, 900)], ADMIN,
                                                Submitter("admin", "api"), b"may"))  # fmt: skip
        await eventually(lambda: waiting_on_locks(ingest.pool, 1), timeout_s=30, what="the first at the lock")
        june = asyncio.create_task(other_process.submit([figure(1, "lam-dong", june_2025, 500)], ADMIN,
                                                        Submitter("admin", "api"), b"june"))  # fmt: skip
        await eventually(lambda: waiting_on_locks(ingest.pool, 2), timeout_s=30, what="both at the lock")
    outcomes = await asyncio.gather(may, june, return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, SubmissionRejected)]
    stored = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(refused) == 1 and len(stored) == 1, outcomes
    assert refused[0].errors[0].field == "amount" and "cumulative" in refused[0].errors[0].reason


def file_rows(unit: str, count: int) -> Iterator[FigureRow | None]:
    """A file's rows (a generator, as a parsed file arrives): one cumulative a day from 1 January."""
    for n in range(count):
        yield figure(n + 2, unit, dt.date(2025, 1, 1) + dt.timedelta(days=n), 1_000 * (n + 1))


async def _held_after_writing_its_events(
    ingest: Ingest, blocker: asyncpg.Connection
) -> tuple[asyncio.Task[IntakeResult], int]:
    """A 300-row file for Lâm Đồng, stopped after it has reserved and written its events, before it commits:
    `blocker` holds the row of a stored figure the file updates next (ingest's own record of figures).
    Returns the file's task and the store's head before it."""
    intake = FigureIntake(ingest.pool, clock=lambda: TODAY)
    # The file's own first figure, stored before it: the file re-sends it (a duplicate, not a change).
    await intake.submit([figure(1, "lam-dong", dt.date(2025, 1, 1), 1000)], ADMIN, Submitter("admin", "api"), b"")
    before = await EventStore(ingest.pool).head()
    await blocker.execute("SELECT 1 FROM ingest_figures WHERE unit_code = 'lam-dong' FOR UPDATE")
    big = asyncio.create_task(intake.submit(file_rows("lam-dong", 300), ADMIN, Submitter("admin", "upload"), b"big"))

    async def written() -> bool:
        async with ingest.pool.acquire() as conn:
            return bool(await conn.fetchval(
                "SELECT EXISTS (SELECT FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO ingest_figures AS f%')"
            ))  # fmt: skip

    await eventually(written, timeout_s=30, what="the file's events written, its commit held")
    return big, before


async def _report_for_hue(ingest: Ingest, as_of: dt.date, amount: int) -> IntakeResult:
    """A single report for Huế, a unit the file does not touch: bounded, so a wait for the file fails."""
    single = FigureIntake(ingest.pool, clock=lambda: TODAY).submit(
        [figure(1, "hue", as_of, amount)], ADMIN, Submitter("admin", "api"), b""
    )
    return await asyncio.wait_for(single, timeout=30)


async def test_other_units_reports_are_stored_while_a_big_file_is_written_and_read_after_it(ingest: Ingest) -> None:
    store = EventStore(ingest.pool)
    async with ingest.pool.acquire() as blocker, blocker.transaction():
        big, before = await _held_after_writing_its_events(ingest, blocker)
        # Before, the file held the append lock until it committed: this waited for it.
        stored = await _report_for_hue(ingest, dt.date(2025, 5, 31), 7)
        assert stored.stored == 1 and not big.done()
        # Readers stop below the file's reservation: the report, stored above it, is not read before the file.
        assert await store.read_after(before) == []
    result = await big
    assert result.stored == 300 and result.append is not None and stored.append is not None
    assert result.append.last_position < stored.append.first_position
    read = await store.read_after(before)
    assert [e.position for e in read] == sorted(e.position for e in read)
    assert [e.stream_id for e in read] == ["lam-dong"] * 300 + ["hue"]


async def test_a_big_file_killed_while_writing_leaves_a_hole_readers_pass(ingest: Ingest) -> None:
    store = EventStore(ingest.pool)
    async with ingest.pool.acquire() as blocker, blocker.transaction():
        big, before = await _held_after_writing_its_events(ingest, blocker)
        stored = await _report_for_hue(ingest, dt.date(2025, 5, 31), 7)
        async with ingest.pool.acquire() as conn:  # as if its process were killed: PostgreSQL rolls it back
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO ingest_figures AS f%'"
            )
    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError)):
        await big
    assert stored.append is not None

    async def passed() -> bool:
        return bool(await store.read_after(before))

    await eventually(passed, timeout_s=30, what="the report read past the hole")
    read = await store.read_after(before)
    assert [(e.stream_id, e.position) for e in read] == [("hue", stored.append.first_position)]
    after = await _report_for_hue(ingest, dt.date(2025, 6, 30), 8)
    assert after.append is not None and after.append.first_position == stored.append.last_position + 1


async def test_a_report_for_the_unit_a_big_file_is_being_read_for_makes_it_check_again(ingest: Ingest) -> None:
    intake = FigureIntake(ingest.pool, clock=lambda: TODAY)
    async with file_half_read(intake, "lam-dong") as big:
        # Stored while the file is read, for a later date than the file's: the file's cumulatives exceed it.
        await intake.submit([figure(1, "lam-dong", dt.date(2025, 11, 14), 5)], ADMIN, Submitter("admin", "api"), b"")
    with pytest.raises(SubmissionRejected) as refused:
        await big
    assert refused.value.errors[0].field == "amount" and "cumulative" in refused.value.errors[0].reason


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


async def test_two_files_racing_under_one_key_make_a_conflict_not_a_fault(ingest: Ingest) -> None:
    """Files for different units no longer wait for each other: both can pass the key's check before either
    commits. The second to commit finds the key taken: a conflict (HTTP 409), not a database error."""
    intake = FigureIntake(ingest.pool, clock=lambda: TODAY)
    for unit in ("lam-dong", "hue"):
        await intake.submit([figure(1, unit, dt.date(2025, 1, 1), 1000)], ADMIN, Submitter("admin", "api"), b"")
    key = Submitter("admin", "upload", source="admin", idempotency_key="bao-cao-thang-5")
    async with ingest.pool.acquire() as blocker, blocker.transaction():
        await blocker.execute("SELECT 1 FROM ingest_figures WHERE as_of = '2025-01-01' FOR UPDATE")
        files = [
            asyncio.create_task(intake.submit(file_rows(unit, 300), ADMIN, key, unit.encode()))
            for unit in ("lam-dong", "hue")
        ]
        await eventually(lambda: waiting_on_locks(ingest.pool, 2), timeout_s=30, what="both files written, both held")
    outcomes = await asyncio.gather(*files, return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["IdempotencyConflict", "IntakeResult"], outcomes
