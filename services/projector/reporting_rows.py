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
)
INSERT INTO reporting_periods (unit_code, indicator, plan_year, period_end, due_on, received_on)
SELECT k.unit_code, k.indicator, k.plan_year, m.period_end, m.period_end + $5::int,
       (SELECT min(f.known_on) FROM figures f
        WHERE (f.unit_code, f.indicator, f.plan_year) = (k.unit_code, k.indicator, k.plan_year)
          AND f.as_of BETWEEN date_trunc('month', m.period_end)::date AND m.period_end)
FROM keys k
CROSS JOIN LATERAL (
    SELECT (month + interval '1 month' - interval '1 day')::date AS period_end
    FROM generate_series(make_date(k.plan_year, 1, 1), k.window_end, interval '1 month') AS month
) m
WHERE (EXISTS (SELECT FROM target_history t
               WHERE (t.unit_code, t.indicator, t.plan_year) = (k.unit_code, k.indicator, k.plan_year)
                 AND t.in_force_from <= m.period_end)
       OR EXISTS (SELECT FROM unit_handovers h
                  WHERE (h.receiver_code, h.indicator, h.plan_year) = (k.unit_code, k.indicator, k.plan_year)
                    AND h.effective_date <= m.period_end))
  AND NOT EXISTS (SELECT FROM unit_mergers g
                  WHERE g.predecessor_code = k.unit_code AND g.effective_date <= m.period_end)
  AND NOT EXISTS (SELECT FROM unit_dissolutions d
                  WHERE d.unit_code = k.unit_code AND d.effective_date <= m.period_end)
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
