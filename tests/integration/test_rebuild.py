"""`pim projector rebuild` against a real PostgreSQL: the rebuilt read models equal the incremental
ones row for row, and the swap leaves readers with complete tables."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from services.projector.progress_rules import ProgressRules
from services.projector.rebuild import READ_MODELS, rebuild
from shared.event_store import EventStore, Submitter
from shared.events import DisbursementReported, FigureCorrected, RevenueReported
from shared.settings import Settings
from tests.integration.projector_helpers import apply_events
from tests.integration.test_projection_order import history, snapshot

pytestmark = pytest.mark.postgres
RULES = ProgressRules()


async def test_rebuilt_tables_equal_the_incremental_ones_row_for_row(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    events = history()
    for start in range(0, len(events), 5):  # several submissions, projected batch by batch
        await store.append(events[start : start + 5], Submitter("test", "test"))
    async with pool.acquire() as conn:
        for start in range(0, len(events), 4):
            async with conn.transaction():
                await apply_events(conn, await store.read_after(start, 4), RULES)
        incremental = await snapshot(conn)
        indexes = await _indexes(conn)
    assert incremental["leader_accountability"] and incremental["unit_progress_history"]
    assert incremental["assessment_totals"] and incremental["assessment_rows"] and incremental["known_on_progress"]
    async with pool.acquire() as conn:
        standings_before = sorted(tuple(r) for r in await conn.fetch("SELECT * FROM assessment_standings"))

    replayed = await rebuild(pool, RULES)

    assert replayed == len(events)
    async with pool.acquire() as conn:
        assert await snapshot(conn) == incremental
        # the view reads the new tables, and nothing of the rebuild is left behind
        assert await conn.fetchval("SELECT count(*) FROM unit_progress") == 3
        assert sorted(tuple(r) for r in await conn.fetch("SELECT * FROM assessment_standings")) == standings_before
        leftovers = await conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild_%'")
        assert leftovers == []
        tables = {r["relname"] for r in await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r'")}  # fmt: skip
        assert set(READ_MODELS) <= tables
        # with the same keys and indexes (some tables are indexed only once filled)
        assert await _indexes(conn) == indexes


async def _indexes(conn: asyncpg.Connection) -> list[tuple[str, str, str]]:
    rows = await conn.fetch(
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        " AND tablename = ANY($1::text[]) ORDER BY 1, 2",
        list(READ_MODELS),
    )
    assert {r["tablename"] for r in rows} == set(READ_MODELS)
    return [tuple(r) for r in rows]


async def test_a_damaged_read_model_is_repaired_by_a_rebuild(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    await store.append(history(), Submitter("test", "test"))
    async with pool.acquire() as conn, conn.transaction():
        await apply_events(conn, await store.read_after(0, 1000), RULES)
    async with pool.acquire() as conn:
        good = await snapshot(conn)
        await conn.execute("DELETE FROM figures WHERE unit_code = 'u3'; UPDATE targets SET amount = 1")
    await rebuild(pool, RULES)
    async with pool.acquire() as conn:
        assert await snapshot(conn) == good


async def test_pim_projector_rebuild_from_the_command_line(pool: asyncpg.Pool, settings: Settings) -> None:
    await EventStore(pool).append(history(), Submitter("test", "test"))
    env = {**os.environ, "DATABASE_URL": str(settings.database_url)}
    pim = str(Path(sys.executable).with_name("pim"))
    done = await asyncio.to_thread(
        subprocess.run, [pim, "projector", "rebuild"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"from {len(history())} events" in done.stdout
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM unit_progress") == 3


async def test_figures_rebuilt_in_bulk_equal_those_projected_event_by_event(pool: asyncpg.Pool) -> None:
    """The rebuild writes figures straight from the stored payloads: every kind of figure, with a project,
    a source document's date and a correction's reason, lands as the live projector writes it."""
    store = EventStore(pool)
    events = [
        *history(),
        RevenueReported(unit_code="u1", plan_year=2025, category="tax", as_of=dt.date(2025, 6, 30),
                        amount=Decimal("1234567.89"), document_date=dt.date(2025, 7, 10)),
        DisbursementReported(unit_code="u2", plan_year=2025, category="oda", project_code="DA-Ngàn-Phố",
                             as_of=dt.date(2025, 8, 31), amount_kind="period", amount=Decimal(75_000)),
        FigureCorrected(unit_code="u1", plan_year=2025, category="tax", as_of=dt.date(2025, 6, 30),
                        indicator="budget_revenue", amount=Decimal(-5), reason="thu hồi nộp thừa"),
    ]  # fmt: skip
    await store.append(events, Submitter("test", "test"))
    async with pool.acquire() as conn:
        async with conn.transaction():
            await apply_events(conn, await store.read_after(0, 1000), RULES)
        incremental = await snapshot(conn)
    assert {r[2] for r in incremental["figures"]} == {"public_investment_disbursement", "budget_revenue"}

    await rebuild(pool, RULES)

    async with pool.acquire() as conn:
        assert await snapshot(conn) == incremental
