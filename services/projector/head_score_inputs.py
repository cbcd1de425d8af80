"""What a head's score is made of, read from the projector's own tables: the units, indicators and plan years
each person answered for in the period (`leader_accountability`'s stints); each one's total on its last report
by the end of the period or of the stint (`unit_progress_history`: rate and the pace the plan expects; the
home group's average that day, `unit_standing_history`); the months due while they were in post
(`reporting_periods`); and the review's verdicts (`review_timeline`: promises decided, conclusions with
fault of alerts whose explanation was asked of them). Every input is about a date within the period, so a
past period's score changes only with a fact about it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection

import asyncpg

from services.projector.head_scores import (
    HeadScore,
    Period,
    ReportDue,
    ScoreInputs,
    ScoringScheme,
    Standing,
    Verdict,
    score,
)
from shared.events import CONCLUSIONS_WITH_FAULT

_STINTS = """
SELECT leader_id, min(leader_name) AS leader_name, unit_code, indicator, plan_year,
       min(stint_start) AS stint_start, max(stint_end) AS stint_end
FROM leader_accountability
WHERE leader_id IS NOT NULL AND plan_year = $3 AND stint_start <= $2 AND stint_end >= $1
  AND ($4::text IS NULL OR leader_id = $4) AND ($5::text[] IS NULL OR unit_code = ANY($5))
GROUP BY leader_id, unit_code, indicator, plan_year"""

# Each stint's last total by its end, and its home group's average that day. Both are looked up per stint
# (LATERAL with LIMIT): joined as a whole, the planner estimated the standings view at one row and
# materialised all of it for every stint (75 s for the 1,800 stints of 983 units; 0.05 s so).
_STANDINGS = """
SELECT s.leader_id, h.unit_code, h.indicator, h.plan_year, h.as_of, h.rate, h.expected_pace, g.average AS peer_average
FROM (SELECT DISTINCT ON (leader_id, unit_code, indicator) *
      FROM unnest($1::text[], $2::text[], $3::text[], $4::date[]) AS s(leader_id, unit_code, indicator, at)
      ORDER BY leader_id, unit_code, indicator, at DESC) s
CROSS JOIN LATERAL (
    SELECT * FROM unit_progress_history h
    WHERE h.unit_code = s.unit_code AND h.indicator = s.indicator AND h.plan_year = $5 AND h.category = ''
      AND h.as_of <= s.at
    ORDER BY h.as_of DESC LIMIT 1
) h
LEFT JOIN LATERAL (
    SELECT g.average FROM unit_standing_history g
    WHERE g.unit_code = h.unit_code AND g.indicator = h.indicator AND g.plan_year = h.plan_year AND g.as_of = h.as_of
    LIMIT 1  -- a unit has one home group on a day
) g ON true
ORDER BY s.leader_id, h.unit_code, h.indicator"""

_REPORTS = """
SELECT s.leader_id, p.unit_code, p.indicator, p.period_end, p.due_on, p.received_on
FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::date[])
     AS s(leader_id, unit_code, indicator, stint_start, stint_end)
JOIN reporting_periods p ON p.unit_code = s.unit_code AND p.indicator = s.indicator AND p.plan_year = $6
 AND p.due_on BETWEEN greatest(s.stint_start, $7) AND least(s.stint_end, $8)
ORDER BY s.leader_id, p.unit_code, p.indicator, p.period_end"""

_VERDICTS = """
SELECT 'commitment' AS kind, leader_id, fingerprint, on_date, CASE WHEN kept THEN 'kept' ELSE 'missed' END AS what
FROM review_timeline WHERE event_type = 'CommitmentChecked' AND on_date BETWEEN $1 AND $2
  AND leader_id = ANY($3) AND ($5::date IS NULL OR known_on <= $5)
UNION ALL
SELECT 'fault', asked.leader_id, r.fingerprint, r.on_date, r.outcome
FROM review_timeline r
JOIN review_timeline asked ON asked.fingerprint = r.fingerprint AND asked.event_type = 'ExplanationRequested'
WHERE r.event_type = 'AlertResolved' AND r.outcome = ANY($4) AND r.on_date BETWEEN $1 AND $2
  AND asked.leader_id = ANY($3) AND ($5::date IS NULL OR r.known_on <= $5)
ORDER BY 2, 4, 3"""


async def head_scores(
    conn: asyncpg.Connection, period: Period, today: dt.date, scheme: ScoringScheme,
    leader_id: str | None = None, scope: Collection[str] | None = None, known_on: dt.date | None = None,
) -> list[HeadScore]:  # fmt: skip
    """Every person answerable for a unit (of `scope`: None, every unit) in the period — or one — scored.
    Months due after `today` are not yet counted. With `known_on` (a board pack as known on a meeting, in
    its workspace of the read models as then), a report or a verdict recorded later is not yet known."""
    stints = await conn.fetch(_STINTS, period.first, period.last, period.first.year, leader_id,
                              None if scope is None else sorted(scope))  # fmt: skip
    if not stints:
        return []
    names = {r["leader_id"]: r["leader_name"] for r in stints}
    leaders, units, indicators = (
        [r["leader_id"] for r in stints],
        [r["unit_code"] for r in stints],
        [r["indicator"] for r in stints],
    )
    standings: dict[str, list[Standing]] = defaultdict(list)
    ends = [min(r["stint_end"], period.last) for r in stints]
    for r in await conn.fetch(_STANDINGS, leaders, units, indicators, ends, period.first.year):
        standings[r["leader_id"]].append(Standing(r["unit_code"], r["indicator"], r["plan_year"], r["as_of"],
                                                  r["rate"], r["expected_pace"], r["peer_average"]))  # fmt: skip
    reports: dict[str, list[ReportDue]] = defaultdict(list)
    for r in await conn.fetch(_REPORTS, leaders, units, indicators, [s["stint_start"] for s in stints],
                              [s["stint_end"] for s in stints], period.first.year, period.first,
                              min(period.last, today)):  # fmt: skip
        received = r["received_on"] if known_on is None or (r["received_on"] or known_on) <= known_on else None
        reports[r["leader_id"]].append(ReportDue(r["unit_code"], r["indicator"], r["period_end"], r["due_on"],
                                                 received))  # fmt: skip
    commitments: dict[str, list[Verdict]] = defaultdict(list)
    faults: dict[str, list[Verdict]] = defaultdict(list)
    for r in await conn.fetch(_VERDICTS, period.first, period.last, sorted(names), list(CONCLUSIONS_WITH_FAULT),
                              known_on):  # fmt: skip
        made = Verdict(r["fingerprint"], r["on_date"], r["what"])
        (commitments if r["kind"] == "commitment" else faults)[r["leader_id"]].append(made)
    scored = []
    for leader in sorted(names):
        inputs = ScoreInputs(leader, names[leader], period, standings[leader], reports[leader], commitments[leader],
                             faults[leader])  # fmt: skip
        scored.append(score(inputs, scheme))
    return scored
