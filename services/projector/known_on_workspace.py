"""The read models as they were known on a past date, for the board pack's `--known-on`: what a meeting
had on the table, before later reports and corrections.

Inside one transaction, rolled back at the end, temporary tables shadow the live progress history,
assessment rows and totals and stints (PostgreSQL looks in the session's temporary schema first), and
temporary copies of the views over them read those. They are filled by the projector's own code —
`recompute_progress` from the facts known on the date, `recompute_totals`, `recompute_accountability` —
so every reader (`standings.py`, the pack) reads them unchanged, and nothing live is written or
locked. Tenures and the registry are taken as they stand: a tenure recorded late corrects the record."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg

from services.projector.accountability_rows import recompute_accountability
from services.projector.assessment_totals import recompute_totals
from services.projector.progress_rows import recompute_progress
from services.projector.progress_rules import ProgressRules
from services.projector.recompute import KEYS_PER_CHUNK
from services.projector.touched import EVER, ProgressKey

SHADOWED_TABLES = ("unit_progress_history", "assessment_rows", "assessment_totals", "leader_accountability")
# In the order they are built on one another.
SHADOWED_VIEWS = ("assessment_bases", "assessment_states", "assessment_standings", "unit_standing_history",
                  "unit_progress", "leader_scorecards")  # fmt: skip


@asynccontextmanager
async def known_on(conn: asyncpg.Connection, day: dt.date, rules: ProgressRules) -> AsyncIterator[None]:
    """Within the block, `conn` reads the read models as known on `day`."""
    async with _shadowed(conn, SHADOWED_TABLES, SHADOWED_VIEWS):
        keys = await _keys_with_facts_known_on(conn, day)
        for start in range(0, len(keys), KEYS_PER_CHUNK):
            chunk = keys[start : start + KEYS_PER_CHUNK]
            await recompute_progress(conn, dict.fromkeys(chunk, EVER), rules, known_on=day)
            await recompute_accountability(conn, chunk)
        groups = {r["group_id"] for r in await conn.fetch("SELECT group_id FROM assessment_groups")}
        await recompute_totals(conn, {}, groups)
        yield


@asynccontextmanager
async def stints_as_of(conn: asyncpg.Connection, day: dt.date, plan_year: int) -> AsyncIterator[None]:
    """Within the block, `conn` reads the stints of `plan_year` (and the scorecards over them) as of `day`:
    each cut at `day`, from the progress up to it. Inside `known_on`, call `cut_stints` instead."""
    async with _shadowed(conn, ("leader_accountability",), ("leader_scorecards",)):
        await cut_stints(conn, day, plan_year)
        yield


async def cut_stints(conn: asyncpg.Connection, day: dt.date, plan_year: int) -> None:
    """Rewrite the (shadowed) stints of `plan_year` as of `day`, by the projector's own code."""
    keys = [
        ProgressKey(r["unit_code"], r["indicator"], r["plan_year"])
        for r in await conn.fetch(
            "SELECT DISTINCT unit_code, indicator, plan_year FROM unit_progress_history WHERE plan_year = $1"
            " ORDER BY 1, 2, 3",
            plan_year,
        )
    ]
    await conn.execute("DELETE FROM leader_accountability WHERE plan_year = $1", plan_year)
    for start in range(0, len(keys), KEYS_PER_CHUNK):
        await recompute_accountability(conn, keys[start : start + KEYS_PER_CHUNK], as_of=day)


@asynccontextmanager
async def _shadowed(conn: asyncpg.Connection, tables: Sequence[str], views: Sequence[str]) -> AsyncIterator[None]:
    """A transaction, rolled back at the end, in which temporary copies of `tables` (empty) and `views`
    (over them) shadow the live ones for `conn`."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        definitions = {
            view: (await conn.fetchval("SELECT pg_get_viewdef($1::regclass)", f"public.{view}")).rstrip().rstrip(";")
            for view in views
        }
        for table in tables:
            await conn.execute(f"CREATE TEMP TABLE {table} (LIKE public.{table} INCLUDING DEFAULTS INCLUDING INDEXES)")
        for view in views:
            await conn.execute(f"CREATE TEMP VIEW {view} AS {definitions[view]}")
        yield
    finally:
        await transaction.rollback()


async def _keys_with_facts_known_on(conn: asyncpg.Connection, day: dt.date) -> list[ProgressKey]:
    """Every key with a figure or a plan known on `day`: a unit with a plan and no report counts with 0."""
    rows = await conn.fetch(
        "SELECT unit_code, indicator, plan_year FROM figures WHERE known_on <= $1"
        " UNION SELECT unit_code, indicator, plan_year FROM target_history WHERE known_on <= $1 ORDER BY 1, 2, 3",
        day,
    )
    return [ProgressKey(r["unit_code"], r["indicator"], r["plan_year"]) for r in rows]
