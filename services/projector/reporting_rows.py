"""The months each unit owes a report for, and when each arrived (`reporting_periods`, migration 0028): the
reporting-on-time indicator's rows, rewritten with a key's progress. Its counts as of a date are read
through the database function `reporting_on`, by the API, the board pack, the dashboards and the alerts."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.projector.touched import ProgressKey
from shared.events import Indicator, plan_window

# The months of each key ($1…$3, its window ending $4) in which it owes a report: a plan of its is in force
# by the month's end (its own, or a part handed over by a dissolved unit), and it was neither merged nor
# dissolved by then; with the day its first figure for the month became known.
_WRITE_PERIODS = """
WITH keys AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::date[])
        AS k(unit_code, indicator, plan_year, window_end)
), owed_from AS (
    SELECT unit_code, indicator, plan_year, min(since) AS since FROM (
        SELECT t.unit_code, t.indicator, t.plan_year, t.in_force_from AS since
        FROM keys k JOIN target_history t USING (unit_code, indicator, plan_year)
        UNION ALL
        SELECT h.receiver_code, h.indicator, h.plan_year, h.effective_date
        FROM keys k JOIN unit_handovers h
            ON (h.receiver_code, h.indicator, h.plan_year) = (k.unit_code, k.indicator, k.plan_year)
    ) plans GROUP BY 1, 2, 3
), gone_on AS (
    SELECT unit_code, min(day) AS day FROM (
        SELECT predecessor_code AS unit_code, effective_date AS day FROM unit_mergers
        WHERE predecessor_code IN (SELECT unit_code FROM keys)
        UNION ALL
        SELECT unit_code, effective_date FROM unit_dissolutions WHERE unit_code IN (SELECT unit_code FROM keys)
    ) left_on GROUP BY 1
), arrived AS (
    SELECT k.unit_code, k.indicator, k.plan_year, a.period_end, a.received_on
    FROM keys k CROSS JOIN LATERAL (  -- each key's figures by its index: a join read every figure (quadratic)
        SELECT (date_trunc('month', f.as_of) + interval '1 month' - interval '1 day')::date AS period_end,
               min(f.known_on) AS received_on
        FROM figures f WHERE (f.unit_code, f.indicator, f.plan_year) = (k.unit_code, k.indicator, k.plan_year)
        GROUP BY 1
    ) a
)
INSERT INTO reporting_periods (unit_code, indicator, plan_year, period_end, due_on, received_on)
SELECT k.unit_code, k.indicator, k.plan_year, m.period_end, m.period_end + $5::int, a.received_on
FROM keys k
JOIN owed_from o USING (unit_code, indicator, plan_year)
LEFT JOIN gone_on g USING (unit_code)
CROSS JOIN LATERAL (
    SELECT (month + interval '1 month' - interval '1 day')::date AS period_end
    FROM generate_series(make_date(k.plan_year, 1, 1), k.window_end, interval '1 month') AS month
) m
LEFT JOIN arrived a
    ON (a.unit_code, a.indicator, a.plan_year, a.period_end) = (k.unit_code, k.indicator, k.plan_year, m.period_end)
WHERE m.period_end >= o.since AND (g.day IS NULL OR m.period_end < g.day)
"""


async def recompute_reporting(conn: asyncpg.Connection, keys: Sequence[ProgressKey], due_days: int) -> None:
    """Rewrite the reporting months of `keys`."""
    if not keys:
        return
    arrays = ([k.unit_code for k in keys], [k.indicator for k in keys], [k.plan_year for k in keys])
    await conn.execute(
        "DELETE FROM reporting_periods p USING unnest($1::text[], $2::text[], $3::int[]) AS k(u, i, y)"
        " WHERE (p.unit_code, p.indicator, p.plan_year) = (k.u, k.i, k.y)",
        *arrays,
    )
    ends = [plan_window(Indicator(k.indicator), k.plan_year)[1] for k in keys]
    await conn.execute(_WRITE_PERIODS, *arrays, ends, due_days)


async def redate_reporting(conn: asyncpg.Connection, due_days: int) -> None:
    """The due day changed (the groups file): every month's due date moves with it."""
    await conn.execute(
        "UPDATE reporting_periods SET due_on = period_end + $1::int WHERE due_on <> period_end + $1::int", due_days
    )
