"""A unit's year as the projector keeps it (each reported date's total: plan, actual, rate, the pace
expected by then, status, and standing in its home group against the group's average; and who answered
for it in which months), and a leader's scorecard (months behind the pace over every stint, per plan year).
Read-only over the projector's tables (`unit_progress_history`, `unit_standing_history`,
`leader_accountability`, `leader_scorecards`): nothing here computes a rate, a pace or a count of its own.
Shared by `GET /v1/units/{code}/progress`, `GET /v1/leaders/{id}` and the portal's unit, alert and
scorecard pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import asyncpg

from shared.money import plain_json_value

_STINT_COLUMNS = (
    "unit_code, indicator, plan_year, answerable_as, stint_start, stint_end, leader_id, leader_name, role,"
    " rate_at_start, rate_at_end, gap_at_start, gap_at_end, gap_arisen, months_behind"
)


async def unit_year(
    conn: asyncpg.Connection, unit_code: str, indicator: str, plan_year: int, as_of: dt.date
) -> dict[str, Any]:
    """The unit's totals on each date it reported up to `as_of`, and the stints of the plan year (the
    answerable head or deputy, from when to when, months behind): a later report never changes the rows
    of earlier dates."""
    months = await conn.fetch(
        "SELECT p.as_of, p.target, p.actual_ytd, p.rate, p.expected_pace, p.gap_to_pace, p.status, s.standing,"
        " s.group_id AS peer_group, s.average AS peer_average FROM unit_progress_history p"
        " LEFT JOIN unit_standing_history s USING (unit_code, indicator, plan_year, as_of)"
        " WHERE p.unit_code = $1 AND p.indicator = $2 AND p.plan_year = $3 AND p.category = '' AND p.as_of <= $4"
        " ORDER BY p.as_of",
        unit_code,
        indicator,
        plan_year,
        as_of,
    )
    stints = await conn.fetch(
        f"SELECT {_STINT_COLUMNS} FROM leader_accountability"
        " WHERE unit_code = $1 AND indicator = $2 AND plan_year = $3 AND stint_start <= $4"
        " ORDER BY stint_start, answerable_as",
        unit_code,
        indicator,
        plan_year,
        as_of,
    )
    return {
        "unit_code": unit_code,
        "indicator": indicator,
        "plan_year": plan_year,
        "as_of": as_of.isoformat(),
        "months": [plain_json_value(dict(r)) for r in months],
        "stints": [plain_json_value(dict(r)) for r in stints],
    }


async def leader_record(conn: asyncpg.Connection, leader_id: str) -> dict[str, Any] | None:
    """A leader's scorecard per plan year (stints answered for, months behind the pace, as the projector
    totals them) and every stint it counts; None when PIM names no such leader answerable anywhere."""
    cards = await conn.fetch(
        "SELECT plan_year, leader_name, stints, months_behind FROM leader_scorecards WHERE leader_id = $1"
        " ORDER BY plan_year DESC",
        leader_id,
    )
    if not cards:
        return None
    stints = await conn.fetch(
        f"SELECT {_STINT_COLUMNS} FROM leader_accountability WHERE leader_id = $1"
        " ORDER BY plan_year DESC, stint_start, unit_code, indicator",
        leader_id,
    )
    reviews = await leader_reviews(conn, leader_id)
    return {
        "leader_id": leader_id,
        "name": cards[0]["leader_name"],
        "years": [plain_json_value(dict(r)) for r in cards],
        "stints": [plain_json_value(dict(r)) for r in stints],
        # the review loop, as the alerts service published it: promises the figures found kept or missed,
        # and the committees' conclusions of the reviews asked of this leader
        "promises": {"kept": reviews.kept, "missed": reviews.missed},
        "conclusions": [plain_json_value(c) for c in reviews.conclusions],
    }


@dataclass(frozen=True)
class LeaderReviews:
    kept: int  # the leader's promises the figures found kept
    missed: int
    conclusions: list[dict[str, Any]]  # on the reviews asked of them: on_date, outcome, document, unit_code


async def leader_reviews(
    conn: asyncpg.Connection, leader_id: str, as_of: dt.date | None = None, known_on: dt.date | None = None
) -> LeaderReviews:
    """The review loop's part of a leader's scorecard, from the projector's `review_timeline`: by `as_of`
    and as known on `known_on` (None: everything recorded)."""
    promises = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE kept) AS kept, count(*) FILTER (WHERE NOT kept) AS missed FROM review_timeline"
        " WHERE event_type = 'CommitmentChecked' AND leader_id = $1 AND ($2::date IS NULL OR on_date <= $2)"
        " AND ($3::date IS NULL OR known_on <= $3)",
        leader_id, as_of, known_on,
    )  # fmt: skip
    conclusions = await conn.fetch(
        "SELECT c.on_date, c.outcome, c.document, c.unit_code FROM review_timeline c"
        " WHERE c.event_type = 'AlertResolved' AND ($2::date IS NULL OR c.on_date <= $2)"
        " AND ($3::date IS NULL OR c.known_on <= $3) AND c.fingerprint IN ("
        "   SELECT fingerprint FROM review_timeline WHERE event_type = 'ExplanationRequested' AND leader_id = $1)"
        " ORDER BY c.on_date",
        leader_id, as_of, known_on,
    )  # fmt: skip
    assert promises is not None
    return LeaderReviews(promises["kept"], promises["missed"], [dict(c) for c in conclusions])


async def registry_as_of(conn: asyncpg.Connection, day: dt.date, scope: set[str] | None) -> list[dict[str, Any]]:
    """The unit registry as it stood on `day` (the projector's dated versions, each in force from the date
    its rule gives): each unit's name, level, parent and committee then, since when, its head in post that
    day, and whether it had been merged or dissolved by then. `scope` None: every unit."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (v.unit_code) v.unit_code, v.name, v.level, v.parent_code, v.committee,"
        " nullif(v.in_force_from, '-infinity') AS in_force_from, m.successor_code AS merged_into,"
        " coalesce(m.effective_date, d.effective_date) AS gone_on, h.leader_name AS head"
        " FROM unit_versions v"
        " LEFT JOIN unit_mergers m ON m.predecessor_code = v.unit_code AND m.effective_date <= $1"
        " LEFT JOIN unit_dissolutions d ON d.unit_code = v.unit_code AND d.effective_date <= $1"
        " LEFT JOIN LATERAL (SELECT t.leader_name FROM tenures t WHERE t.unit_code = v.unit_code"
        "   AND t.role IN ('head', 'acting_head') AND t.start_date <= $1 AND (t.end_date IS NULL OR t.end_date >= $1)"
        "   ORDER BY t.start_date DESC LIMIT 1) h ON true"
        " WHERE v.in_force_from <= $1 AND ($2::text[] IS NULL OR v.unit_code = ANY($2::text[]))"
        " ORDER BY v.unit_code, v.in_force_from DESC, v.position DESC",
        day,
        None if scope is None else sorted(scope),
    )
    return [plain_json_value(dict(r)) for r in rows]  # type: ignore[misc]
