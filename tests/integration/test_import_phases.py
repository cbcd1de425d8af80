"""A file's import says where its time went (`pim_ingest_import_phase_seconds`, by phase): an operator who sees
a slow import tells reading and checking from waiting for units another writer holds, and the bench reads the
same metric for its breakdown (pim/bench/ingest.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from services.ingest.figure_intake import FigureIntake
from services.ingest.figure_rows import FigureRow
from shared.auth import Principal
from shared.event_store import EventStore, Submitter
from shared.events import Indicator
from shared.observability import import_phases
from tests.integration.ingest_fixtures import TODAY, Ingest, waiting_on_locks
from tests.kafka_helpers import eventually

pytestmark = pytest.mark.postgres
ADMIN = Principal("admin", "admin", ())
PHASES = ("read", "check", "wait", "recheck", "append", "remember", "finish")


def phases() -> dict[str, tuple[float, float]]:
    return {phase: import_phases().get(phase, (0.0, 0.0)) for phase in PHASES}


def file_rows(unit: str, count: int) -> Iterator[FigureRow | None]:
    """A file's rows, as a parser yields them (an iterator: the intake takes it as a file, not a report)."""
    for n in range(count):
        as_of, amount = dt.date(2025, 1, 1) + dt.timedelta(days=n), Decimal(1_000 * (n + 1))
        yield FigureRow(
            n + 2, unit, Indicator.DISBURSEMENT, 2025, "central_budget", "", as_of, "cumulative", amount, None
        )


async def test_an_import_times_each_phase_and_how_long_it_waited_for_a_unit_another_writer_held(
    ingest: Ingest,
) -> None:
    intake = FigureIntake(ingest.pool, clock=lambda: TODAY)
    before = phases()
    async with ingest.pool.acquire() as holder:
        held = holder.transaction()
        await held.start()
        await EventStore.lock_streams(holder, ["lam-dong"])  # another writer's, until the test lets go
        importing = asyncio.create_task(
            intake.submit(file_rows("lam-dong", 200), ADMIN, Submitter("admin", "upload"), b"f")
        )

        await eventually(
            lambda: waiting_on_locks(ingest.pool, for_s=0.5), timeout_s=30, what="the import waiting for the held unit"
        )
        await held.rollback()
    assert (await asyncio.wait_for(importing, 30)).stored == 200
    after = phases()

    counted = {phase: after[phase][0] - before[phase][0] for phase in PHASES}
    assert counted == {"read": 1, "check": 1, "wait": 1, "recheck": 0, "append": 1, "remember": 1, "finish": 1}
    # The wait is where the held unit's time went: at least the half second PostgreSQL saw the import blocked.
    assert after["wait"][1] - before["wait"][1] >= 0.5
    assert all(after[phase][1] > before[phase][1] for phase in ("read", "check", "append", "remember", "finish"))
