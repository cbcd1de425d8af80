"""Takes figure rows from any channel (JSON, CSV/XLSX, the raw topic) into the event store.

Rows stream into a temporary table in chunks (memory stays flat), the checks that need state run as
set-based SQL under the append lock, and the events are appended by one INSERT … SELECT: the rows
never come back through Python. All or nothing by default; `store_valid` keeps the valid rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import asyncpg

from services.ingest.auth import Principal, units_in_scope
from services.ingest.errors import ErrorLog, RowError, SubmissionRejected
from services.ingest.figure_rows import FigureRow, check_figure
from shared.event_store import AppendResult, EventStore, Submitter

CHUNK = 20_000

# Per connection, emptied at every commit or rollback: creating them per submission costs more than the
# rest of a small submission's work.
_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS staged_figures (
    row_no integer PRIMARY KEY, indicator text, unit_code text, plan_year integer, category text,
    project_code text, as_of date, amount_kind text, amount numeric, correction_reason text
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS rejected_rows (row_no integer PRIMARY KEY) ON COMMIT DELETE ROWS;
"""
_STAGE_COLUMNS = (
    "row_no", "indicator", "unit_code", "plan_year", "category", "project_code", "as_of", "amount_kind", "amount",
    "correction_reason",
)  # fmt: skip

_UNKNOWN_OR_MERGED = """
SELECT s.row_no, s.unit_code, s.as_of, u.unit_code IS NULL AS unknown, u.merged_into, u.merged_on
FROM staged_figures s LEFT JOIN ingest_units u USING (unit_code)
WHERE u.unit_code IS NULL OR s.as_of >= u.merged_on
ORDER BY s.row_no
"""

_OUT_OF_SCOPE = """
SELECT row_no, unit_code FROM staged_figures WHERE NOT (unit_code = ANY($1::text[])) ORDER BY row_no
"""

# A cumulative year-to-date total never falls from one date to a later one, unless the row is an
# explicit correction. The new rows are merged with what is stored (per date, the new row wins; within
# the submission, the last row for a date wins), then each new cumulative is compared with its neighbours.
_CUMULATIVE_FALLS = """
WITH batch AS (
    SELECT DISTINCT ON (unit_code, indicator, plan_year, category, project_code, as_of) *
    FROM staged_figures WHERE amount_kind = 'cumulative'
    ORDER BY unit_code, indicator, plan_year, category, project_code, as_of, row_no DESC
), keys AS (
    SELECT DISTINCT unit_code, indicator, plan_year, category, project_code FROM batch
), combined AS (
    SELECT unit_code, indicator, plan_year, category, project_code, as_of, amount, row_no,
           correction_reason IS NOT NULL AS correction
    FROM batch
    UNION ALL
    SELECT f.unit_code, f.indicator, f.plan_year, f.category, f.project_code, f.as_of, f.amount, NULL, false
    FROM ingest_figures f JOIN keys USING (unit_code, indicator, plan_year, category, project_code)
    WHERE f.amount_kind = 'cumulative' AND NOT EXISTS (
        SELECT 1 FROM batch b WHERE (b.unit_code, b.indicator, b.plan_year, b.category, b.project_code, b.as_of)
                                  = (f.unit_code, f.indicator, f.plan_year, f.category, f.project_code, f.as_of))
), neighbours AS (
    SELECT *, lag(amount) OVER w AS prev_amount, lag(as_of) OVER w AS prev_date,
              lead(amount) OVER w AS next_amount, lead(as_of) OVER w AS next_date, lead(row_no) OVER w AS next_row
    FROM combined
    WINDOW w AS (PARTITION BY unit_code, indicator, plan_year, category, project_code ORDER BY as_of)
)
SELECT row_no, amount, prev_amount, prev_date, next_amount, next_date, next_row
FROM neighbours
WHERE row_no IS NOT NULL AND NOT correction
  AND (amount < prev_amount OR (next_row IS NULL AND amount > next_amount))
ORDER BY row_no
"""

_EVENTS_FROM_STAGED = """
SELECT s.row_no AS ord, s.unit_code AS stream_id,
       CASE WHEN s.correction_reason IS NOT NULL THEN 'FigureCorrected'
            WHEN s.indicator = 'public_investment_disbursement' THEN 'DisbursementReported'
            ELSE 'RevenueReported' END AS event_type,
       1 AS schema_version, s.as_of AS occurred_on,
       jsonb_build_object(
           'type', CASE WHEN s.correction_reason IS NOT NULL THEN 'FigureCorrected'
                        WHEN s.indicator = 'public_investment_disbursement' THEN 'DisbursementReported'
                        ELSE 'RevenueReported' END,
           'unit_code', s.unit_code, 'plan_year', s.plan_year, 'category', s.category,
           'project_code', nullif(s.project_code, ''), 'as_of', to_char(s.as_of, 'YYYY-MM-DD'),
           'amount_kind', s.amount_kind, 'amount', s.amount::text)
       || CASE WHEN s.correction_reason IS NULL THEN '{}'::jsonb
               ELSE jsonb_build_object('indicator', s.indicator, 'reason', s.correction_reason) END AS payload
FROM staged_figures s
WHERE NOT EXISTS (SELECT 1 FROM rejected_rows r WHERE r.row_no = s.row_no)
"""

_REMEMBER_FIGURES = """
INSERT INTO ingest_figures AS f (unit_code, indicator, plan_year, category, project_code, as_of, amount_kind, amount)
SELECT DISTINCT ON (unit_code, indicator, plan_year, category, project_code, as_of)
       unit_code, indicator, plan_year, category, project_code, as_of, amount_kind, amount
FROM staged_figures s
WHERE NOT EXISTS (SELECT 1 FROM rejected_rows r WHERE r.row_no = s.row_no)
ORDER BY unit_code, indicator, plan_year, category, project_code, as_of, row_no DESC
ON CONFLICT (unit_code, indicator, plan_year, category, project_code, as_of)
DO UPDATE SET amount_kind = excluded.amount_kind, amount = excluded.amount
"""


@dataclass(frozen=True)
class IntakeResult:
    rows: int
    stored: int
    rejected: int
    errors: list[RowError]
    append: AppendResult | None  # None when nothing was stored

    @property
    def duplicate(self) -> bool:
        return self.append is not None and self.append.duplicate


def _record(figure: FigureRow) -> tuple[object, ...]:
    return (
        figure.row, figure.indicator.value, figure.unit_code, figure.plan_year, figure.category, figure.project_code,
        figure.as_of, figure.amount_kind, figure.amount, figure.correction_reason,
    )  # fmt: skip


class FigureIntake:
    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], dt.date] = dt.date.today) -> None:
        self._pool = pool
        self._store = EventStore(pool)
        self._clock = clock

    async def submit(
        self,
        rows: Iterable[FigureRow | None],
        principal: Principal,
        submitter: Submitter,
        digest: bytes,
        *,
        errors: ErrorLog | None = None,
        store_valid: bool = False,
    ) -> IntakeResult:
        """Validate and store `rows` (None marks a row that failed parsing, already in `errors`).

        Raises SubmissionRejected when any row fails and `store_valid` is off: then nothing is stored.
        """
        errors = errors if errors is not None else ErrorLog()
        async with self._pool.acquire() as conn:
            earlier = await self._store.earlier_submission(conn, submitter, digest)
            if earlier is not None:  # re-sent: answer without reading further
                return IntakeResult(earlier.count, earlier.count, 0, [], earlier)
            async with conn.transaction():
                await conn.execute(_STAGE)
                total = await self._stage(conn, rows, errors)
                await EventStore.lock(conn)
                scope_errors = await self._check_state(conn, principal, errors)
                if errors and not store_valid:
                    raise SubmissionRejected(errors.kept, total=errors.count, status=403 if scope_errors else 422)
                append = await self._store.append_query(conn, _EVENTS_FROM_STAGED, [], submitter, digest)
                if append is not None and not append.duplicate:
                    await conn.execute(_REMEMBER_FIGURES)
        stored = append.count if append is not None else 0
        return IntakeResult(total, stored, total - stored, errors.kept, append)

    async def _stage(self, conn: asyncpg.Connection, rows: Iterable[FigureRow | None], errors: ErrorLog) -> int:
        today = self._clock()
        total = 0
        chunk: list[tuple[object, ...]] = []
        for figure in rows:
            total += 1
            if figure is None:
                continue
            problems = check_figure(figure, today)
            if problems:
                for problem in problems:
                    errors.add(problem)
                continue
            chunk.append(_record(figure))
            if len(chunk) >= CHUNK:
                await conn.copy_records_to_table("staged_figures", records=chunk, columns=_STAGE_COLUMNS)
                chunk = []
        if chunk:
            await conn.copy_records_to_table("staged_figures", records=chunk, columns=_STAGE_COLUMNS)
        if total == 0:
            raise SubmissionRejected([RowError(None, "rows", None, "the submission holds no figures")])
        if total > CHUNK:  # a large import: give the planner real numbers for the checks that follow
            await conn.execute("ANALYZE staged_figures")
        return total

    async def _check_state(self, conn: asyncpg.Connection, principal: Principal, errors: ErrorLog) -> bool:
        """Log the errors that depend on what is stored; mark their rows rejected. True if any row was
        outside the principal's scope."""
        rejected: list[int] = []
        for r in await conn.fetch(_UNKNOWN_OR_MERGED):
            reason = (
                "unknown unit: register it first"
                if r["unknown"]
                else f"unit was merged into {r['merged_into']} on {r['merged_on']}: report for {r['merged_into']}"
            )
            errors.add(RowError(r["row_no"], "unit_code", r["unit_code"], reason))
            rejected.append(r["row_no"])
        scope = await units_in_scope(conn, principal)
        out_of_scope = False
        if scope is not None:
            for r in await conn.fetch(_OUT_OF_SCOPE, sorted(scope)):
                errors.add(RowError(r["row_no"], "unit_code", r["unit_code"], f"outside the scope of {principal.name}"))
                rejected.append(r["row_no"])
                out_of_scope = True
        for r in await conn.fetch(_CUMULATIVE_FALLS):
            if r["prev_amount"] is not None and r["amount"] < r["prev_amount"]:
                reason = (
                    f"cumulative falls below {r['prev_amount']} reported for {r['prev_date']}:"
                    " send it as a correction with a reason"
                )
            else:
                reason = f"cumulative exceeds {r['next_amount']} already reported for the later date {r['next_date']}"
            errors.add(RowError(r["row_no"], "amount", str(r["amount"]), reason))
            rejected.append(r["row_no"])
        if rejected:
            await conn.executemany(
                "INSERT INTO rejected_rows (row_no) VALUES ($1) ON CONFLICT DO NOTHING", [(n,) for n in rejected]
            )
        return out_of_scope
