"""Peer standing on the unit-progress history rows: each unit against the weighted average of its
peer group, date by date, recomputed group by group from the earliest date a member's rows changed."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping

import asyncpg

from services.projector.peers import PeerFigures, peer_standings
from services.projector.touched import EVER, ProgressKey

# Top-level units (provinces and central agencies) form the national group; the others are grouped
# by level and parent.
_PEER_GROUP = "CASE WHEN u.parent_code IS NULL THEN 'national' ELSE u.level || '/' || u.parent_code END"


async def recompute_peer_standing(
    conn: asyncpg.Connection, since: Mapping[ProgressKey, dt.date], regrouped: Iterable[str] = ()
) -> set[ProgressKey]:
    """Recompute the peer standing in the peer groups of the units of `since`, for their indicators and
    plan years, on every date any member reported from the earliest date a member's rows changed on (all
    dates, and every indicator and year, for the groups a unit of `regrouped` — registered again, or
    merged away — is or was in). On a date a member did not report, its latest earlier figure stands in
    for it. One group at a time, to keep memory flat.

    Only rows whose standing changed are written. Returns the keys whose current (latest) standing
    changed: a peer's report moves a unit's standing without any fact of its own."""
    moving = set(regrouped)
    changed_of: dict[str, list[tuple[tuple[str, int], dt.date]]] = defaultdict(list)
    for key, day in since.items():
        changed_of[key.unit_code].append(((key.indicator, key.plan_year), day))
    moved: set[ProgressKey] = set()
    if not changed_of and not moving:
        return moved
    groups = await conn.fetch(_GROUPS, sorted(changed_of.keys() | moving), sorted(moving))
    every_pair = await _indicator_years(conn) if moving else set()
    merged_on = {
        r["predecessor_code"]: r["effective_date"]
        for r in await conn.fetch("SELECT predecessor_code, effective_date FROM unit_mergers")
    }
    for group in groups:
        members = sorted(set(group["members"] or ()))
        starts: dict[tuple[str, int], dt.date] = {}
        for unit in members:
            for pair, day in changed_of.get(unit, ()):
                starts[pair] = min(day, starts.get(pair, day))
        if group["regrouped"]:
            starts |= dict.fromkeys(every_pair, EVER)
        if starts and members:
            moved |= await _recompute_group_standing(conn, group["peer_group"], members, starts, merged_on)
    return moved


# The peer groups of units $1 with their members now; `regrouped`: a unit of $2 (registered again, or
# merged away) joined it or left it (the group it stood in before, from its rows).
_GROUPS = f"""
WITH wanted AS (
    SELECT {_PEER_GROUP} AS peer_group, u.unit_code = ANY($2::text[]) AS regrouped
    FROM units u WHERE u.unit_code = ANY($1::text[])
    UNION ALL
    SELECT DISTINCT h.peer_group, true FROM unit_progress_history h
    WHERE h.unit_code = ANY($2::text[]) AND h.category = '' AND h.peer_group IS NOT NULL
)
SELECT w.peer_group, bool_or(w.regrouped) AS regrouped,
       (SELECT array_agg(m.unit_code) FROM units m WHERE {_PEER_GROUP.replace("u.", "m.")} = w.peer_group) AS members
FROM wanted w GROUP BY w.peer_group
"""


# A peer group's total rows from each (indicator, plan year)'s start date on, and each member's latest
# row before it: the figures that stand in for it until it reports again.
_GROUP_ROWS = """
WITH p AS (SELECT * FROM unnest($2::text[], $3::int[], $4::date[]) AS p(indicator, plan_year, since))
SELECT h.unit_code, h.indicator, h.plan_year, h.as_of, h.target, h.actual_ytd, h.peer_group, h.peer_average,
       h.standing, h.peer_rank, true AS fresh
FROM p JOIN unit_progress_history h USING (indicator, plan_year)
WHERE h.unit_code = ANY($1::text[]) AND h.category = '' AND h.as_of >= p.since
UNION ALL
SELECT h.*, false FROM unnest($1::text[]) AS m(unit_code) CROSS JOIN p CROSS JOIN LATERAL (
    SELECT h.unit_code, h.indicator, h.plan_year, h.as_of, h.target, h.actual_ytd, h.peer_group, h.peer_average,
           h.standing, h.peer_rank
    FROM unit_progress_history h
    WHERE (h.unit_code, h.indicator, h.plan_year, h.category) = (m.unit_code, p.indicator, p.plan_year, '')
      AND h.as_of < p.since
    ORDER BY h.as_of DESC LIMIT 1
) h
"""


async def _recompute_group_standing(
    conn: asyncpg.Connection,
    peer_group: str,
    members: list[str],
    starts: dict[tuple[str, int], dt.date],
    merged_on: dict[str, dt.date],
) -> set[ProgressKey]:
    pairs = sorted(starts)
    rows = await conn.fetch(
        _GROUP_ROWS, members, [i for i, _ in pairs], [y for _, y in pairs], [starts[p] for p in pairs]
    )
    seeds: dict[tuple[str, int], list[asyncpg.Record]] = defaultdict(list)
    series: dict[tuple[str, int], dict[str, dict[dt.date, asyncpg.Record]]] = {}
    for row in rows:
        pair = (row["indicator"], row["plan_year"])
        if row["fresh"]:
            series.setdefault(pair, {}).setdefault(row["unit_code"], {})[row["as_of"]] = row
        else:
            seeds[pair].append(row)
    merged_away = [unit for unit in members if unit in merged_on]
    updates: list[tuple[object, ...]] = []
    moved: set[ProgressKey] = set()

    def stand(unit: str, indicator: str, plan_year: int, day: dt.date, *peer: object) -> None:
        row = series[(indicator, plan_year)][unit][day]
        if (row["peer_group"], row["peer_average"], row["standing"], row["peer_rank"]) == peer:
            return  # unchanged: no write
        updates.append((unit, indicator, plan_year, day, *peer))
        if day == last_day[(unit, indicator, plan_year)]:
            moved.add(ProgressKey(unit, indicator, plan_year))

    last_day = {(unit, *pair): max(reported) for pair, reported_by in series.items()
                for unit, reported in reported_by.items()}  # fmt: skip
    for (indicator, plan_year), reported_by in series.items():
        latest = {  # each member's latest figures on or before the day
            seed["unit_code"]: PeerFigures(seed["unit_code"], seed["target"], seed["actual_ytd"])
            for seed in seeds[(indicator, plan_year)]
            if seed["unit_code"] not in merged_on or seed["as_of"] < merged_on[seed["unit_code"]]
        }
        for day in sorted({day for reported in reported_by.values() for day in reported}):
            reporting = []
            for unit, reported in reported_by.items():
                row = reported.get(day)
                if row is None:
                    continue
                reporting.append(unit)
                if unit in merged_on and day >= merged_on[unit]:
                    # Merged away: its figures count in its successor's from now on; it stands nowhere.
                    stand(unit, indicator, plan_year, day, peer_group, None, None, None)
                else:
                    latest[unit] = PeerFigures(unit, row["target"], row["actual_ytd"])
            for unit in merged_away:
                if day >= merged_on[unit]:
                    latest.pop(unit, None)
            standings = {s.unit_code: s for s in peer_standings(latest.values())}
            for unit in reporting:
                if unit in standings:
                    standing = standings[unit]
                    stand(unit, indicator, plan_year, day, peer_group, standing.peer_average,
                          standing.standing.value, standing.rank)  # fmt: skip
    if not updates:
        return moved
    columns = list(zip(*updates, strict=True))
    await conn.execute(
        "UPDATE unit_progress_history h SET peer_group = u.peer_group, peer_average = u.peer_average,"
        " standing = u.standing, peer_rank = u.peer_rank"
        " FROM unnest($1::text[], $2::text[], $3::int[], $4::date[], $5::text[], $6::numeric[], $7::text[],"
        " $8::int[]) AS u(unit_code, indicator, plan_year, as_of, peer_group, peer_average, standing, peer_rank)"
        " WHERE (h.unit_code, h.indicator, h.plan_year, h.category, h.as_of)"
        " = (u.unit_code, u.indicator, u.plan_year, '', u.as_of)",
        *[list(c) for c in columns],
    )
    return moved


async def _indicator_years(conn: asyncpg.Connection) -> set[tuple[str, int]]:
    rows = await conn.fetch("SELECT DISTINCT indicator, plan_year FROM unit_progress_history")
    return {(r["indicator"], r["plan_year"]) for r in rows}
