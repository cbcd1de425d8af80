"""Takes figure rows from any channel (JSON, CSV/XLSX, the raw topic) into the event store.

Under the append lock, rows are applied in chunks, in submission order: each chunk is copied into a
temporary table, checked against the stored state with set-based SQL (unknown or merged units, scope,
falling cumulatives — earlier chunks count as stored), then appended by one INSERT … SELECT, so the
rows never come back through Python. While the database works on one chunk, a worker thread parses the
next (memory stays flat; parsing and writing overlap on two cores). All or nothing by default: any
error rolls the whole transaction back. `store_valid` keeps the rows that passed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import asyncpg

from services.ingest.errors import ErrorLog, RowError, SubmissionRejected
from services.ingest.figure_rows import FigureRow, check_figure
from services.ingest.registry import registry_categories
from shared.auth import Principal, units_in_scope
from shared.event_store import AppendResult, EventStore, Submitter
from shared.events import FigureFields, Indicator, figure_event_types

# Departments report their units' figures (an admin may correct anyone's); committees inspect them: a
# committee token that could write the figures it judges would be judge and party.
FIGURE_REPORTERS = ("department", "admin")
COMMITTEES_DO_NOT_REPORT = (
    "ủy ban kiểm tra giám sát, không báo cáo số liệu: dùng token của sở tài chính / committees inspect figures,"
    " they do not report them: use a finance department's token"
)
CHUNK = 50_000
WORK_MEM = "64MB"  # the per-chunk sorts fit in memory
SMALL_CHUNK = 1_000
STAGING_BLOAT_BYTES = 8 * 1024 * 1024

# Per connection, kept across transactions and emptied by each submission before use. Not ON COMMIT
# DELETE ROWS: that truncates at every commit, and a truncation makes PostgreSQL re-plan every cached
# statement on the table, which cost a small submission more than all its other work. Small
# submissions empty the tables with DELETE (plans stay valid); large ones, and tables grown large from
# dead rows, with TRUNCATE.
_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS staged_figures (
    row_no integer PRIMARY KEY, indicator text, unit_code text, plan_year integer, category text,
    project_code text, as_of date, amount_kind text, amount numeric, correction_reason text, document_date date
);
CREATE TEMP TABLE IF NOT EXISTS rejected_rows (row_no integer PRIMARY KEY);
"""
_STAGE_COLUMNS = ("row_no", *FigureRow._fields[1:])

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
# explicit correction. The new rows (per date, the last one wins) are merged with the stored rows they
# sit among: per key, the stored rows inside the new rows' date range, plus the nearest stored row on
# either side (two index look-ups per key, so the check stays cheap however much is stored). Then each
# new cumulative is compared with its neighbours.
_CUMULATIVE_FALLS = """
WITH batch AS (
    SELECT DISTINCT ON (unit_code, indicator, plan_year, category, project_code, as_of) *
    FROM staged_figures WHERE amount_kind = 'cumulative'
    ORDER BY unit_code, indicator, plan_year, category, project_code, as_of, row_no DESC
), keys AS (
    SELECT unit_code, indicator, plan_year, category, project_code, min(as_of) AS first, max(as_of) AS last
    FROM batch GROUP BY unit_code, indicator, plan_year, category, project_code
), stored AS (
    SELECT f.unit_code, f.indicator, f.plan_year, f.category, f.project_code, f.as_of, f.amount
    FROM keys k
    CROSS JOIN LATERAL (
        (SELECT * FROM ingest_figures f
          WHERE (f.unit_code, f.indicator, f.plan_year, f.category, f.project_code)
              = (k.unit_code, k.indicator, k.plan_year, k.category, k.project_code)
            AND f.as_of < k.first AND f.amount_kind = 'cumulative'
          ORDER BY f.as_of DESC LIMIT 1)
        UNION ALL
        (SELECT * FROM ingest_figures f
          WHERE (f.unit_code, f.indicator, f.plan_year, f.category, f.project_code)
              = (k.unit_code, k.indicator, k.plan_year, k.category, k.project_code)
            AND f.as_of BETWEEN k.first AND k.last AND f.amount_kind = 'cumulative')
        UNION ALL
        (SELECT * FROM ingest_figures f
          WHERE (f.unit_code, f.indicator, f.plan_year, f.category, f.project_code)
              = (k.unit_code, k.indicator, k.plan_year, k.category, k.project_code)
            AND f.as_of > k.last AND f.amount_kind = 'cumulative'
          ORDER BY f.as_of LIMIT 1)
    ) AS f
), combined AS (
    SELECT unit_code, indicator, plan_year, category, project_code, as_of, amount, row_no,
           correction_reason IS NOT NULL AS correction
    FROM batch
    UNION ALL
    SELECT s.unit_code, s.indicator, s.plan_year, s.category, s.project_code, s.as_of, s.amount, NULL, false
    FROM stored s
    WHERE NOT EXISTS (
        SELECT 1 FROM batch b WHERE (b.unit_code, b.indicator, b.plan_year, b.category, b.project_code, b.as_of)
                                  = (s.unit_code, s.indicator, s.plan_year, s.category, s.project_code, s.as_of))
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

# $1: the figure events' schema version; $2, $3: `figure_event_types()` (a correction's type names no
# indicator: its payload does).
_EVENTS_FROM_STAGED = """
SELECT s.row_no AS ord, s.unit_code AS stream_id, k.event_type, $1::int AS schema_version, s.as_of AS occurred_on,
       jsonb_build_object(
           'type', k.event_type,
           'unit_code', s.unit_code, 'plan_year', s.plan_year, 'category', s.category,
           'project_code', nullif(s.project_code, ''), 'as_of', to_char(s.as_of, 'YYYY-MM-DD'),
           'amount_kind', s.amount_kind, 'amount', s.amount::text,
           'document_date', to_char(s.document_date, 'YYYY-MM-DD'))
       || CASE WHEN s.correction_reason IS NULL THEN '{}'::jsonb
               ELSE jsonb_build_object('indicator', s.indicator, 'reason', s.correction_reason) END AS payload
FROM staged_figures s
JOIN unnest($2::text[], $3::text[]) AS k(event_type, indicator)
  ON CASE WHEN s.correction_reason IS NULL THEN k.indicator = s.indicator ELSE k.indicator IS NULL END
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
        if principal.role not in FIGURE_REPORTERS:
            raise SubmissionRejected(
                [RowError(None, "authorization", principal.name, COMMITTEES_DO_NOT_REPORT)], status=403
            )
        errors = errors if errors is not None else ErrorLog()
        from_file = not isinstance(rows, list)
        async with self._pool.acquire() as conn:
            if from_file:  # a re-sent file is answered before it is read
                earlier = await self._store.earlier_submission(conn, submitter, digest)
                if earlier is not None:
                    return IntakeResult(earlier.count, earlier.count, 0, [], earlier)
            async with conn.transaction():
                await conn.execute(_STAGE)
                await EventStore.lock(conn)
                earlier = await self._store.earlier_submission(conn, submitter, digest)
                if earlier is not None:
                    return IntakeResult(earlier.count, earlier.count, 0, [], earlier)
                if from_file:
                    await conn.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
                categories = await registry_categories(conn)
                source = iter(rows) if from_file else _InMemory(rows)  # type: ignore[arg-type]
                chunks = _Chunks(source, errors, self._clock(), categories)
                written = await self._apply_chunks(conn, chunks, principal, submitter, store_valid, errors)
                if chunks.total == 0:
                    raise SubmissionRejected([RowError(None, "rows", None, "the submission holds no figures")])
                if errors and not store_valid:
                    status = 403 if written.out_of_scope else 422
                    raise SubmissionRejected(errors.kept, total=errors.count, status=status)
                result = None
                if written.first is not None and written.last is not None:
                    result = await self._store.finish_submission(conn, submitter, digest, written.first, written.last)
        stored = result.count if result is not None else 0
        return IntakeResult(chunks.total, stored, chunks.total - stored, errors.kept, result)

    async def _apply_chunks(
        self, conn: asyncpg.Connection, chunks: _Chunks, principal: Principal, submitter: Submitter,
        store_valid: bool, errors: ErrorLog,
    ) -> _Written:  # fmt: skip
        """Apply every chunk in order; the next chunk is parsed while the database works on this one."""
        scope = await units_in_scope(conn, principal)
        written = _Written()
        next_chunk = asyncio.create_task(chunks.take_soon())
        while chunk := await next_chunk:
            next_chunk = asyncio.create_task(chunks.take_soon())
            # With an error already found and no partial storing, only checking goes on.
            positions, out_of_scope = await self._apply(
                conn, chunk, principal, scope, errors, submitter,
                append=store_valid or not errors, first_chunk=written.chunks == 0,
            )  # fmt: skip
            written.add(positions, out_of_scope)
        return written

    async def _apply(
        self, conn: asyncpg.Connection, chunk: list[FigureRow], principal: Principal, scope: set[str] | None,
        errors: ErrorLog, submitter: Submitter, append: bool, first_chunk: bool,
    ) -> tuple[tuple[int, int] | None, bool]:  # fmt: skip
        """Stage and check one chunk, and append its valid rows if `append`; return the positions written
        and whether a row was outside the principal's scope."""
        await _empty_staging(conn, large=len(chunk) > SMALL_CHUNK)
        await conn.copy_records_to_table("staged_figures", records=chunk, columns=_STAGE_COLUMNS)
        if first_chunk and len(chunk) > 1000:  # real numbers for the planner; later chunks look alike
            await conn.execute("ANALYZE staged_figures")
        out_of_scope = await self._check_state(conn, principal, scope, errors)
        if not append:
            return None, out_of_scope
        written = await EventStore.insert_from_query(
            conn, _EVENTS_FROM_STAGED, [FigureFields.schema_version, *figure_event_types()], submitter
        )
        if written is not None:
            await conn.execute(_REMEMBER_FIGURES)
        return written, out_of_scope

    async def _check_state(
        self, conn: asyncpg.Connection, principal: Principal, scope: set[str] | None, errors: ErrorLog
    ) -> bool:
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


async def _empty_staging(conn: asyncpg.Connection, large: bool) -> None:
    if large or await conn.fetchval("SELECT pg_relation_size('staged_figures')") > STAGING_BLOAT_BYTES:
        await conn.execute("TRUNCATE staged_figures, rejected_rows")
    else:
        await conn.execute("DELETE FROM staged_figures; DELETE FROM rejected_rows")


@dataclass
class _Written:
    """What the chunks of one submission wrote."""

    first: int | None = None
    last: int | None = None
    out_of_scope: bool = False
    chunks: int = 0

    def add(self, positions: tuple[int, int] | None, out_of_scope: bool) -> None:
        self.chunks += 1
        self.out_of_scope |= out_of_scope
        if positions is not None:
            self.first = positions[0] if self.first is None else self.first
            self.last = positions[1]


class _InMemory:
    """Rows a JSON body already holds."""

    def __init__(self, rows: list[FigureRow | None]) -> None:
        self._rows = iter(rows)

    def __iter__(self) -> Iterator[FigureRow | None]:
        return self._rows


class _Chunks:
    """Pulls parsed rows, applies the checks that need no state, and hands out chunks of valid rows.
    Runs in a worker thread, one `take` at a time."""

    def __init__(
        self, rows: Iterator[FigureRow | None] | _InMemory, errors: ErrorLog, today: dt.date,
        categories: dict[Indicator, set[str]],
    ) -> None:  # fmt: skip
        self._rows = rows
        self._errors = errors
        self._today = today
        self._categories = categories
        self.total = 0

    async def take_soon(self) -> list[FigureRow]:
        """The next chunk: parsed in a worker thread when the rows come from a file (so parsing overlaps
        the database's work), directly when they are already in memory (a thread hop costs more)."""
        if isinstance(self._rows, _InMemory):
            return self.take()
        return await asyncio.to_thread(self.take)

    def take(self) -> list[FigureRow]:
        chunk: list[FigureRow] = []
        for figure in self._rows:  # resumes where the previous chunk stopped
            self.total += 1
            if figure is None:
                continue
            problems = check_figure(figure, self._today, self._categories)
            if problems:
                for problem in problems:
                    self._errors.add(problem)
                continue
            chunk.append(figure)  # a FigureRow is already a record in the staging columns' order
            if len(chunk) >= CHUNK:
                break
        return chunk
