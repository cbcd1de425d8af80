"""A connection's staging tables live as long as it does, and a report empties them with DELETE (a TRUNCATE
would make PostgreSQL re-plan every cached statement on them). Autovacuum never visits temporary tables, so
their dead rows are the intake's to bound: past a size, they are truncated."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from services.ingest import figure_intake
from services.ingest.figure_intake import FigureIntake
from services.ingest.figure_rows import FigureRow
from shared.auth import Principal
from shared.db import create_pool
from shared.event_store import Submitter
from shared.events import Indicator
from shared.settings import Settings
from tests.integration.ingest_fixtures import TODAY, Ingest

pytestmark = pytest.mark.postgres

LIMIT = 64 * 1024
ROWS = 200  # a report's rows: about 24 KB staged


def report(number: int) -> list[FigureRow | None]:
    day = dt.date(2025, 6, 30)
    return [
        FigureRow(row, "lam-dong", Indicator.DISBURSEMENT, 2025, "central_budget", f"p{number}-{row}", day,
                  "cumulative", Decimal(1_000 + row), None)
        for row in range(1, ROWS + 1)
    ]  # fmt: skip


async def test_a_connections_staging_tables_are_truncated_once_dead_rows_grow_them(
    ingest: Ingest, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(figure_intake, "STAGING_BLOAT_BYTES", LIMIT)
    assert settings.database_url is not None  # the database the `ingest` fixture registered the units in
    one = await create_pool(settings.database_url, min_size=1, max_size=1)  # one connection: its tables, every time
    try:
        intake = FigureIntake(one, clock=lambda: TODAY)
        sizes = []
        for number in range(12):
            submitter = Submitter("admin", "test")
            result = await intake.submit(report(number), Principal("admin", "admin", ()), submitter, bytes([number]))
            assert result.stored == ROWS
            async with one.acquire() as conn:
                sizes.append(await conn.fetchval("SELECT pg_relation_size('staged_figures')"))
    finally:
        await one.close()
    # Twelve reports' dead rows would be about 290 KB; truncated once past the limit, the table stays near it.
    assert max(sizes) < LIMIT + 2 * ROWS * 120, sizes
    assert any(later < earlier for earlier, later in itertools.pairwise(sizes)), sizes  # and it did shrink
