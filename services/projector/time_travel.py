"""Progress "as known on" a date: what was on the table at a past meeting, before later reports and
corrections. A figure is known from its source document's date where a backfill carries one, from the
day it was recorded otherwise; a target from its decision's date where it has one, from the day it was
recorded otherwise.

`progress_as_known_on` computes it for any date. The month-end snapshots (`known_on_progress`) keep the
same, computed by the same code, for screens that read tables (the leader dashboard): one per month end
that has passed, from the month of the earliest fact known to the month of the latest; a snapshot is
brought up to date when a fact known on or before its date is written (a backfill, a late correction),
never by the facts of today."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import asyncpg

from services.projector.progress_rows import HISTORY_COLUMNS, compute_progress
from services.projector.progress_rules import ProgressRules
from services.projector.touched import ProgressKey, key_columns

_KEY_OF = ("unit_code", "indicator", "plan_year")
SNAPSHOT_COLUMNS = ("known_on", *HISTORY_COLUMNS)


async def progress_as_known_on(conn: asyncpg.Connection, day: dt.date, rules: ProgressRules) -> list[dict[str, Any]]:
    """Every unit's progress history (totals and categories) from the facts known on `day`."""
    keys = await _reported_keys_known_on(conn, day)
    if not keys:
        return []
    computed = await compute_progress(conn, keys, rules, known_on=day)
    return [dict(zip(HISTORY_COLUMNS, record, strict=True)) for record in computed.records]


async def _reported_keys_known_on(
    conn: asyncpg.Connection, day: dt.date, among: list[ProgressKey] | None = None
) -> list[ProgressKey]:
    if among is None:
        rows = await conn.fetch(
            "SELECT DISTINCT unit_code, indicator, plan_year FROM figures WHERE known_on <= $1 ORDER BY 1, 2, 3", day
        )
    else:  # each key looked up by its index: a filter over every figure cost each recompute the whole registry
        rows = await conn.fetch(
            "SELECT * FROM unnest($2::text[], $3::text[], $4::int[]) AS k(unit_code, indicator, plan_year)"
            " WHERE EXISTS (SELECT FROM figures f WHERE (f.unit_code, f.indicator, f.plan_year)"
            " = (k.unit_code, k.indicator, k.plan_year) AND f.known_on <= $1) ORDER BY 1, 2, 3",
            day, *key_columns(among),
        )  # fmt: skip
    return [ProgressKey(r["unit_code"], r["indicator"], r["plan_year"]) for r in rows]


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    """The last day of every month from `first`'s month to `last`'s, both included."""
    ends, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        ends.append(following - dt.timedelta(days=1))
        year, month = following.year, following.month
    return ends


async def snapshot_dates(
    conn: asyncpg.Connection, learned: tuple[dt.date, dt.date] | None, today: dt.date
) -> list[dt.date]:
    """The month ends a snapshot is kept for: those before `today`, over the span the facts are known in
    (kept in `known_on_span`, widened by the span of the facts just `learned`; read from the facts once,
    when there is none: a scan of every figure per recompute cost the live projector 10 %)."""
    stored = await conn.fetchrow("SELECT first, last FROM known_on_span")
    kept = stored is not None
    if stored is None:
        stored = await conn.fetchrow(
            "SELECT min(k) AS first, max(k) AS last FROM (SELECT known_on AS k FROM figures"
            " UNION ALL SELECT known_on FROM target_history) f"
        )
        if stored["first"] is None:
            return []
    first, last = stored["first"], stored["last"]
    if learned is not None:
        first, last = min(first, learned[0]), max(last, learned[1])
    if not kept or (first, last) != (stored["first"], stored["last"]):
        await conn.execute(
            "INSERT INTO known_on_span (first, last) VALUES ($1, $2)"
            " ON CONFLICT (singleton) DO UPDATE SET first = excluded.first, last = excluded.last",
            first,
            last,
        )
    return [day for day in month_ends(first, last) if day < today]


async def recompute_snapshots(
    conn: asyncpg.Connection,
    known: Mapping[ProgressKey, dt.date],
    learned: tuple[dt.date, dt.date] | None,
    rules: ProgressRules,
    today: dt.date,
) -> None:
    """Bring the month-end snapshots up to date: a new month end in full, and on the others the keys of
    `known` whose new facts were known by then (each key with the day its newest facts became known;
    `learned`: the first and last day the new facts became known)."""
    dates = await snapshot_dates(conn, learned, today)
    kept = {r["known_on"] for r in await conn.fetch("SELECT DISTINCT known_on FROM known_on_progress")}
    if kept - set(dates):
        await conn.execute("DELETE FROM known_on_progress WHERE known_on <> ALL($1::date[])", dates)
    for day in dates:
        if day in kept:
            stale = sorted(key for key, since in known.items() if since <= day)
            if not stale:
                continue
            keys = await _reported_keys_known_on(conn, day, stale)
            await conn.execute(
                "DELETE FROM known_on_progress s USING unnest($2::text[], $3::text[], $4::int[]) AS k(u, i, y)"
                " WHERE s.known_on = $1 AND (s.unit_code, s.indicator, s.plan_year) = (k.u, k.i, k.y)",
                day, [k.unit_code for k in stale], [k.indicator for k in stale], [k.plan_year for k in stale],
            )  # fmt: skip
        else:
            keys = await _reported_keys_known_on(conn, day)
        if not keys:
            continue
        computed = await compute_progress(conn, keys, rules, known_on=day)
        current = [  # each key's latest total row
            (day, *r) for r in computed.records if r[3] == "" and computed.latest[(r[0], r[1], r[2])][0] == r[4]
        ]
        await conn.copy_records_to_table("known_on_progress", records=current, columns=SNAPSHOT_COLUMNS)
