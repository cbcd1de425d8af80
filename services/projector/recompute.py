"""Recomputes the derived rows a batch of facts touched: progress history, peer standing,
accountability and the "as known on" snapshots (`progress_rows`, `assessment_totals`,
`accountability_rows`, `time_travel`), a few hundred keys at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import asyncpg

from services.projector.accountability_rows import recompute_accountability
from services.projector.assessment_totals import config_is_current, recompute_totals, regroup
from services.projector.progress_rows import current_progress, recompute_progress
from services.projector.progress_rules import ProgressRules
from services.projector.reporting_rows import recompute_reporting, redate_reporting
from services.projector.time_travel import recompute_snapshots
from services.projector.touched import EVER, ProgressKey, Touched
from shared.clock import vietnam_today
from shared.contracts import ProgressChanged

KEYS_PER_CHUNK = 250  # (unit, indicator, plan year) keys recomputed per statement: ~60k history rows at most


async def recompute(
    conn: asyncpg.Connection, touched: Touched, rules: ProgressRules, today: dt.date | None = None
) -> list[ProgressChanged]:
    """Recompute the derived rows (progress, peer standing, accountability, the "as known on" snapshots of
    the month ends before `today`) that `touched` affects.

    A few hundred keys at a time, so memory stays flat however much a rebuild or a burst touched."""
    for key in await _successor_keys(conn, set(touched.keys), touched.successors):
        touched.touch(key)
        # What became known of its predecessors (a merger: from its recording, whatever its date: every
        # snapshot) is known of it.
        touched.know(key, EVER if touched.successors else min(touched.known.values(), default=EVER))
    # Units registered (again) may change groups; units merged away leave theirs, which may not be their
    # successor's; a changed groups file regroups everyone. First: a unit's progress is on the plan its home
    # group ranks on.
    regrouped: set[str] = set()
    predecessors = await _predecessors(conn, touched.successors)
    if not await config_is_current(conn, rules.assessment):
        await redate_reporting(conn, rules.assessment.report_due_days)
        regrouped = await regroup(conn, rules.assessment, predecessors)
        # A group may now rank on the other plan: a unit with both has its progress on its home group's.
        for key in await _keys_with_two_plans(conn):
            touched.touch(key)
    elif touched.registered or touched.successors:
        regrouped = await regroup(conn, rules.assessment, predecessors)
    changes = []
    for chunk in _chunks(sorted(touched.keys)):
        changes += await recompute_progress(conn, {key: touched.keys[key] for key in chunk}, rules)
    # A unit's reporting months: its own facts, and the months a merger ended for its predecessors.
    for chunk in _chunks(sorted(set(touched.keys) | await _keys_of_units(conn, predecessors))):
        await recompute_reporting(conn, chunk, rules.assessment.report_due_days)
    moved = await recompute_totals(conn, touched.keys, regrouped)
    changes += await current_progress(conn, moved - set(touched.keys))
    answerable = set(touched.keys) | await _keys_of_units(conn, touched.retenured)
    for chunk in _chunks(sorted(answerable)):
        await recompute_accountability(conn, chunk)
    await recompute_snapshots(conn, touched.known, touched.known_span, rules, today or vietnam_today())
    return changes


def _chunks(keys: list[ProgressKey]) -> Iterator[list[ProgressKey]]:
    for start in range(0, len(keys), KEYS_PER_CHUNK):
        yield keys[start : start + KEYS_PER_CHUNK]


async def _keys_of_units(conn: asyncpg.Connection, units: set[str]) -> set[ProgressKey]:
    if not units:
        return set()
    rows = await conn.fetch(
        "SELECT DISTINCT unit_code, indicator, plan_year FROM unit_progress_history WHERE unit_code = ANY($1::text[])",
        sorted(units),
    )
    return {ProgressKey(r["unit_code"], r["indicator"], r["plan_year"]) for r in rows}


async def _successor_keys(conn: asyncpg.Connection, keys: set[ProgressKey], successors: set[str]) -> set[ProgressKey]:
    """The keys of units whose history includes the touched ones: their successors by merger, and the
    successors of new mergers, for every indicator and year their predecessors reported."""
    rows = await conn.fetch(
        "SELECT DISTINCT m.successor_code, f.indicator, f.plan_year FROM unit_mergers m"
        " JOIN figures f ON f.unit_code IN (m.predecessor_code, m.successor_code)"
        " WHERE m.predecessor_code = ANY($1::text[]) OR m.successor_code = ANY($2::text[])",
        sorted({k.unit_code for k in keys}),
        sorted(successors),
    )
    return {ProgressKey(r["successor_code"], r["indicator"], r["plan_year"]) for r in rows}


async def _keys_with_two_plans(conn: asyncpg.Connection) -> list[ProgressKey]:
    rows = await conn.fetch(
        "SELECT unit_code, indicator, plan_year FROM targets GROUP BY 1, 2, 3 HAVING count(DISTINCT assigned_by) > 1"
    )
    return [ProgressKey(r["unit_code"], r["indicator"], r["plan_year"]) for r in rows]


async def _predecessors(conn: asyncpg.Connection, successors: set[str]) -> set[str]:
    if not successors:
        return set()
    rows = await conn.fetch(
        "SELECT predecessor_code FROM unit_mergers WHERE successor_code = ANY($1::text[])", sorted(successors)
    )
    return {r["predecessor_code"] for r in rows}
