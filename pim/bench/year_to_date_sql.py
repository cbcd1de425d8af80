"""The year to date as one set-based SQL statement, written apart from the projector on purpose: the
independent oracle the tests hold the projector's `actuals` to, and the benchmark's raw limit. The
projector computes the year to date only in Python (`services/projector/actuals.py`).

Each unit's actual year-to-date on each date it reported, per category and in total. Per line (category
and project), the report that counts for a date is the one with the highest position (a later report
supersedes); a cumulative report starts a new running total and period reports add to it; on a date a
line did not report, its latest earlier value carries forward. A category has rows from the first date
one of its lines reported. $1..$3: the keys as arrays; $4: "as known on" (NULL: everything).
"""

from __future__ import annotations

import time

import asyncpg

YEAR_TO_DATE_SQL = """
WITH keys AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) AS k(unit_code, indicator, plan_year)
), sources AS (
    -- a unit's own figures and, from the merger date on, those of the units merged into it when it reports
    -- its own figures only (consolidated reports already include them)
    SELECT unit_code, indicator, plan_year, unit_code AS source, NULL::date AS merged_on FROM keys
    UNION ALL
    SELECT k.unit_code, k.indicator, k.plan_year, m.predecessor_code, m.effective_date
    FROM keys k JOIN unit_mergers m ON m.successor_code = k.unit_code AND m.successor_reports = 'own_only'
), effective AS MATERIALIZED (
    SELECT DISTINCT ON (s.unit_code, s.indicator, s.plan_year, s.source, f.category, f.project_code, f.as_of)
           s.unit_code, s.indicator, s.plan_year, s.source, s.merged_on, f.category, f.project_code, f.as_of,
           f.amount_kind, f.amount
    FROM sources s JOIN figures f ON (f.unit_code, f.indicator, f.plan_year) = (s.source, s.indicator, s.plan_year)
    WHERE $4::date IS NULL OR f.known_on <= $4::date
    ORDER BY s.unit_code, s.indicator, s.plan_year, s.source, f.category, f.project_code, f.as_of, f.position DESC
), grouped AS (
    SELECT *, count(*) FILTER (WHERE amount_kind = 'cumulative') OVER (
        PARTITION BY unit_code, indicator, plan_year, source, category, project_code ORDER BY as_of) AS run
    FROM effective
), line_values AS MATERIALIZED (
    SELECT unit_code, indicator, plan_year, source, category, project_code, as_of,
           sum(amount) OVER (PARTITION BY unit_code, indicator, plan_year, source, category, project_code, run
                             ORDER BY as_of) AS ytd
    FROM grouped
), dates AS (  -- every date any source reported, so values carry forward; rows come out for the unit's own
    SELECT unit_code, indicator, plan_year, as_of, bool_or(source = unit_code) AS own
    FROM effective GROUP BY unit_code, indicator, plan_year, as_of
), lines AS (
    SELECT DISTINCT unit_code, indicator, plan_year, source, merged_on, category, project_code FROM effective
), marks AS (
    SELECT d.unit_code, d.indicator, d.plan_year, d.as_of, d.own, l.source, l.merged_on, l.category, l.project_code,
           v.ytd
    FROM dates d
    JOIN lines l USING (unit_code, indicator, plan_year)
    LEFT JOIN line_values v USING (unit_code, indicator, plan_year, source, category, project_code, as_of)
), carried AS (
    SELECT *, count(ytd) OVER (PARTITION BY unit_code, indicator, plan_year, source, category, project_code
                               ORDER BY as_of) AS seen
    FROM marks
), filled AS (
    SELECT *,
           CASE WHEN as_of < merged_on THEN 0  -- a predecessor counts only from the merger date
                ELSE coalesce(first_value(ytd) OVER (
                    PARTITION BY unit_code, indicator, plan_year, source, category, project_code, seen
                    ORDER BY as_of), 0) END AS value
    FROM carried
)
SELECT unit_code, indicator, plan_year, as_of, coalesce(category, '') AS category, sum(value) AS actual_ytd
FROM filled
WHERE own
GROUP BY GROUPING SETS ((unit_code, indicator, plan_year, as_of, category), (unit_code, indicator, plan_year, as_of))
HAVING GROUPING(category) = 1 OR bool_or(seen > 0)  -- a category has rows from its first report on
"""


async def time_every_year_to_date(pool: asyncpg.Pool) -> float:
    """The benches' same-run limit of the projector: seconds to compute every key's year to date with this
    one statement (planned as the projector runs it)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_nestloop = off")
        keys = await conn.fetch("SELECT DISTINCT unit_code, indicator, plan_year FROM figures")
        started = time.perf_counter()
        await conn.fetch(YEAR_TO_DATE_SQL, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], None)
        return time.perf_counter() - started
