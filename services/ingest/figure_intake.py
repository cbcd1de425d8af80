"""Takes figure rows from any channel (JSON, CSV/XLSX, the raw topic) into the event store.

Holding no lock, every row is parsed and copied, chunk by chunk, into a temporary table (while the
database copies one chunk, a worker thread parses the next: memory stays flat, parsing and copying
overlap on two cores), then checked against the stored state with set-based SQL (unknown or merged
units, scope, falling cumulatives): every problem of the file is found before anything is appended, and
other submissions go on meanwhile. Then the units' streams are locked (one writer per unit), the checks
run again only if what they read changed in between (a report for one of the same units, a unit merged, a
category declared), and the rows are appended by one INSERT … SELECT: they never come back through
Python. A file reserves its positions and writes them without the store's append lock, so other units'
reports are not held up however long it takes. A report already in memory (a JSON body, a raw-topic
message) is small: it is staged in one statement and checked and appended in one transaction with its
units locked from the first check, in under twenty round trips; reports that queue while the writer is
busy are written several to a transaction when all of them are clean (report_batches.py). All or nothing
by default; `store_valid` keeps the rows that passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import difflib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import asyncpg
from prometheus_client.context_managers import Timer

from services.ingest.errors import ErrorLog, RowError, SubmissionRejected
from services.ingest.figure_rows import FigureRow, check_figure, code_like
from services.ingest.registry import registry_categories
from services.ingest.report_batches import NotTogether, Report, ReportBatches, Written
from shared.auth import Principal, units_in_scope
from shared.display import vnd
from shared.event_store import AppendResult, EventStore, Submitter
from shared.events import Indicator, figure_event_types, figure_schema_version
from shared.observability import IMPORT_PHASE_SECONDS, LAST_REPORT_STORED

# Departments report their units' figures (an admin may correct anyone's); committees inspect them: a
# committee token that could write the figures it judges would be judge and party.
FIGURE_REPORTERS = ("department", "admin")
COMMITTEES_DO_NOT_REPORT = (
    "ủy ban kiểm tra giám sát, không báo cáo số liệu: dùng token của sở tài chính / committees inspect figures,"
    " they do not report them: use a finance department's token"
)
CHUNK = 50_000  # rows parsed and copied into staging at a time
WORK_MEM = "64MB"  # the per-chunk sorts fit in memory
SMALL_CHUNK = 1_000
STAGING_BLOAT_BYTES = 8 * 1024 * 1024
WRITER_IDLE_LIMIT = "60s"

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
# A report's rows in one statement, a column an array (COPY costs three round trips: the table's columns, then
# the copy's two steps).
_STAGE_ROWS = f"""
INSERT INTO staged_figures ({", ".join(_STAGE_COLUMNS)})
SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::date[], $8::text[],
                     $9::numeric[], $10::text[], $11::date[])
"""

_UNKNOWN_OR_MERGED = """
SELECT s.row_no, s.unit_code, s.as_of, u.unit_code IS NULL AS unknown, u.merged_into, u.merged_on, u.exists_from
FROM staged_figures s LEFT JOIN ingest_units u USING (unit_code)
WHERE u.unit_code IS NULL OR s.as_of >= u.merged_on OR s.as_of < u.exists_from
ORDER BY s.row_no
"""

# The registered units among the staged rows: the streams the submission writes.
_KNOWN_STAGED_UNITS = """
SELECT coalesce(array_agg(DISTINCT s.unit_code ORDER BY s.unit_code), '{}')
FROM staged_figures s JOIN ingest_units USING (unit_code)
"""

# What the state checks read of each unit, besides the rows themselves: its registration (merger, parent,
# so scope) and its stream's version (its figures); and the declared categories' stream. Read before the
# checks and again with the streams locked: if it differs, something was appended in between and the
# checks run again. A stream's version is one index probe, however much is stored.
_STATE_OF_UNITS = """
SELECT c.code, u.unit_code IS NOT NULL AS registered, u.parent_code, u.merged_into, u.merged_on, u.exists_from,
       (SELECT max(e.stream_version) FROM events e WHERE e.stream_id = c.code) AS version
FROM unnest($1::text[] || 'categories'::text) AS c(code) LEFT JOIN ingest_units u ON u.unit_code = c.code
ORDER BY c.code
"""

_PASSED_COUNT = """
SELECT count(*) FROM staged_figures s WHERE NOT EXISTS (SELECT 1 FROM rejected_rows r WHERE r.row_no = s.row_no)
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

# A figure that changes one already stored (same unit, indicator, year, category, project and date) replaces
# it: that is a correction, and needs its reason. The same figure sent again stays a harmless duplicate.
# Two rows of one submission that disagree on the same figure are the same silent replacement.
# A row without a reason that changes a stored figure, or differs from an earlier row of the same file for
# the same key (`other_row`: the earliest such row). Found with two window passes over the rows, not with a
# self-join per row (that was quadratic: 40,000 project rows took two minutes): the earliest row differing
# from a row is the key's first row, or, for a row saying what the first says, the key's first row that
# says something else.
_CHANGED_WITHOUT_REASON = """
WITH firsts AS (
    SELECT s.*, first_value(row_no) OVER key AS row1,
           (amount, amount_kind) IS DISTINCT FROM (first_value(amount) OVER key, first_value(amount_kind) OVER key)
               AS differs
    FROM staged_figures s
    WINDOW key AS (PARTITION BY unit_code, indicator, plan_year, category, project_code, as_of ORDER BY row_no)
), checked AS (
    SELECT f.*, CASE WHEN differs THEN row1
                     WHEN row2 < row_no THEN row2 END AS other_row
    FROM (SELECT *, min(row_no) FILTER (WHERE differs)
                        OVER (PARTITION BY unit_code, indicator, plan_year, category, project_code, as_of) AS row2
          FROM firsts) f
    WHERE correction_reason IS NULL
)
SELECT s.row_no, s.amount, s.as_of, f.amount AS stored_amount, f.amount_kind AS stored_kind, s.other_row
FROM checked s
LEFT JOIN ingest_figures f
  ON (f.unit_code, f.indicator, f.plan_year, f.category, f.project_code, f.as_of)
   = (s.unit_code, s.indicator, s.plan_year, s.category, s.project_code, s.as_of)
 AND (f.amount, f.amount_kind) IS DISTINCT FROM (s.amount, s.amount_kind)
WHERE f.unit_code IS NOT NULL OR s.other_row IS NOT NULL
ORDER BY s.row_no
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


# Reports written together (services/ingest/report_batches.py): each report's rows staged `REPORT_ROWS_APART`
# from the next's, so a report's events are the staged rows in its range; the checks asked only which rows
# fail (a report with one is taken out of the batch and written alone, to be answered with its errors).
REPORT_ROWS_APART = 1_000_000
_EVENTS_OF_ROWS = _EVENTS_FROM_STAGED + "  AND s.row_no BETWEEN $4 AND $5\n"
_FAILING_ROWS = f"""
SELECT row_no FROM ({_UNKNOWN_OR_MERGED}) AS unknown_or_merged
UNION SELECT row_no FROM ({_CUMULATIVE_FALLS}) AS falls
UNION SELECT row_no FROM ({_CHANGED_WITHOUT_REASON}) AS changed
"""
_SENT_BEFORE = """
SELECT k.source, k.key FROM submissions s JOIN unnest($1::text[], $2::text[]) AS k(source, key)
  ON (s.source, s.idempotency_key) = (k.source, k.key)
"""
_UNSTAGE = """
DELETE FROM staged_figures s USING unnest($1::int[], $2::int[]) AS r(lo, hi) WHERE s.row_no BETWEEN r.lo AND r.hi
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


class Intake(Protocol):
    """What takes a submission's figure rows (`FigureIntake` on PostgreSQL; a fake in handler tests)."""

    async def submit(
        self, rows: Iterable[FigureRow | None], principal: Principal, submitter: Submitter, digest: bytes, *,
        errors: ErrorLog | None = None, store_valid: bool = False,
    ) -> IntakeResult: ...  # fmt: skip


class FigureIntake:
    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], dt.date] = dt.date.today) -> None:
        self._pool = pool
        self._store = EventStore(pool)
        self._clock = clock
        self._pairing = asyncio.Lock()
        self._batches = ReportBatches(self._write_alone, self._write_together)

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
        if isinstance(rows, list):
            report = Report(rows, principal, submitter, digest, errors, store_valid)
            result, total = await self._batches.submit(report)
        else:
            result, total = await self._submit_file(rows, principal, submitter, digest, errors, store_valid)
        if result is not None and result.duplicate:
            return IntakeResult(result.count, result.count, 0, [], result)
        stored = result.count if result is not None else 0
        if stored:
            LAST_REPORT_STORED.set_to_current_time()
        return IntakeResult(total, stored, total - stored, errors.kept, result)

    @property
    def reports_waiting(self) -> int:
        """Single reports waiting for a writer (services/ingest/report_batches.py)."""
        return self._batches.waiting

    async def _write_alone(self, report: Report) -> Written:
        return await self._submit_report(
            report.rows, report.principal, report.submitter, report.digest, report.errors, report.store_valid
        )

    async def _write_together(self, batch: list[Report]) -> list[Written | None]:
        """Two or more reports for different units in one transaction, each appended as a submission of its
        own; None for a report to be written alone: one that is not clean (answered with its errors), or for a
        unit another writer holds (it waits for it). NotTogether (rolled back) when that is every report."""
        async with self._pool.acquire() as conn:
            await _empty_staging(conn)
            async with conn.transaction():
                categories = await registry_categories(conn)
                ranges, rows = [], []
                for number, report in enumerate(batch, start=1):
                    chunks = _Chunks(iter(report.rows), ErrorLog(), self._clock(), categories)
                    clean = chunks.take()
                    if len(clean) != chunks.total or chunks.take():
                        raise NotTogether("a row fails a check of its own")
                    if clean[-1].row >= REPORT_ROWS_APART:  # (a JSON body's rows count from 1; never so many)
                        raise NotTogether("a report's row numbers would reach the next report's")
                    offset = number * REPORT_ROWS_APART
                    ranges.append((offset + 1, offset + REPORT_ROWS_APART - 1))
                    rows += [FigureRow(offset + row.row, *row[1:]) for row in clean]
                await conn.execute(_STAGE_ROWS, *zip(*rows, strict=True))
                # A unit another writer holds (a file being imported, a report written alone): its reports leave
                # the batch and wait for it alone; the others go on without waiting.
                held = await EventStore.lock_free_streams(conn, await conn.fetchval(_KNOWN_STAGED_UNITS))
                alone = {i for i, report in enumerate(batch) if report.units & held}
                alone |= await self._not_clean(conn, batch)
                if len(alone) == len(batch):
                    raise NotTogether("no report is clean, or every one is for a unit another writer holds")
                if alone:  # taken out of the batch: their rows unstaged, their answers written alone
                    await conn.execute(_UNSTAGE, [ranges[i][0] for i in alone], [ranges[i][1] for i in alone])
                await conn.execute(_REMEMBER_FIGURES)
                await EventStore.lock_append(conn)
                written: list[Written | None] = []
                for number, (report, (first, last)) in enumerate(zip(batch, ranges, strict=True)):
                    if number in alone:
                        written.append(None)
                        continue
                    args = [figure_schema_version(), *figure_event_types(), first, last]
                    appended = await EventStore.append_and_finish(
                        conn, _EVENTS_OF_ROWS, args, report.submitter, report.digest
                    )
                    written.append((appended, len(report.rows)))
        return written

    @staticmethod
    async def _not_clean(conn: asyncpg.Connection, batch: list[Report]) -> set[int]:
        """The batch's reports (by index) that must be answered alone: a row failing a check against what is
        stored, a key sent before (a re-send, or a conflict), a unit outside the sender's scope."""
        # Report n (from 1) is staged from n × REPORT_ROWS_APART + 1: its index is in the failing row's number.
        out = {r["row_no"] // REPORT_ROWS_APART - 1 for r in await conn.fetch(_FAILING_ROWS)}
        keyed = [(i, r.submitter) for i, r in enumerate(batch) if r.submitter.idempotency_key is not None]
        if keyed:
            sources, keys = [s.source for _, s in keyed], [s.idempotency_key for _, s in keyed]
            before = {(r["source"], r["key"]) for r in await conn.fetch(_SENT_BEFORE, sources, keys)}
            out |= {i for i, s in keyed if (s.source, s.idempotency_key) in before}
        for principal in {r.principal for r in batch}:
            scope = await units_in_scope(conn, principal)
            if scope is not None:
                out |= {i for i, r in enumerate(batch) if r.principal == principal and not r.units <= scope}
        return out

    async def _submit_report(
        self, rows: list[FigureRow | None], principal: Principal, submitter: Submitter, digest: bytes,
        errors: ErrorLog, store_valid: bool,
    ) -> tuple[AppendResult | None, int]:  # fmt: skip
        """A report already in memory (a JSON body, a raw-topic message): checked and appended in one
        transaction, its units' streams locked from the first check on, so nothing is checked twice. Each
        round trip counts here: at a few hundred reports a second they were most of a report's cost."""
        async with self._pool.acquire() as conn:
            await _empty_staging(conn)  # outside the transaction: the tables' life is the connection's
            async with conn.transaction():
                chunks = _Chunks(iter(rows), errors, self._clock(), await registry_categories(conn))
                while chunk := chunks.take():
                    await conn.execute(_STAGE_ROWS, *zip(*chunk, strict=True))
                if chunks.total == 0:
                    raise SubmissionRejected([RowError(None, "rows", None, "the submission holds no figures")])
                await EventStore.lock_streams(conn, await conn.fetchval(_KNOWN_STAGED_UNITS))
                # A re-sent report is answered before it is checked: its figures are stored already, and checked
                # against themselves they would look changed.
                earlier = await self._store.earlier_submission(conn, submitter, digest)
                if earlier is not None:
                    return earlier, chunks.total
                scope = await units_in_scope(conn, principal)
                out_of_scope = await self._check_state(conn, principal, scope, errors)
                self._reject_unless_stored_valid(errors, store_valid, out_of_scope)
                await conn.execute(_REMEMBER_FIGURES)
                # Held until it commits, so positions become visible in the order they were taken.
                await EventStore.lock_append(conn)
                args = [figure_schema_version(), *figure_event_types()]
                result = await EventStore.append_and_finish(conn, _EVENTS_FROM_STAGED, args, submitter, digest)
        return result, chunks.total

    async def _submit_file(
        self, rows: Iterable[FigureRow | None], principal: Principal, submitter: Submitter, digest: bytes,
        errors: ErrorLog, store_valid: bool,
    ) -> tuple[AppendResult | None, int]:  # fmt: skip
        """A file, streamed: staged and checked holding no lock, then its units locked, checked again only
        if what the checks read has changed meanwhile, and appended on positions it reserves."""
        async with self._connection_pair() as (conn, reserver):
            # A re-sent file is answered (or its changed content refused) before it is read and checked.
            earlier = await self._store.earlier_submission(conn, submitter, digest)
            if earlier is not None:
                return earlier, earlier.count
            await conn.execute(_STAGE)  # outside the transaction: the tables' life is the connection's
            # Parse, stage and check everything holding no lock: other submissions go on meanwhile.
            async with conn.transaction():
                await conn.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
                with _phase("read"):
                    chunks = _Chunks(iter(rows), errors, self._clock(), await registry_categories(conn))
                    await self._stage(conn, chunks)
                if chunks.total == 0:
                    raise SubmissionRejected([RowError(None, "rows", None, "the submission holds no figures")])
                with _phase("check"):
                    units = await conn.fetchval(_KNOWN_STAGED_UNITS)
                    checked = await _state_of(conn, units)  # before the checks read it: a later change shows
                    scope = await units_in_scope(conn, principal)
                    out_of_scope = await self._check_state(conn, principal, scope, errors)
            self._reject_unless_stored_valid(errors, store_valid, out_of_scope)
            # Then the units' streams locked to the end: the checks again only if what they read has changed
            # since (rarely: a report for the same units, the registry), and the append.
            async with conn.transaction():
                with _phase("wait"):
                    await EventStore.lock_streams(conn, units)
                earlier = await self._store.earlier_submission(conn, submitter, digest)
                if earlier is not None:
                    return earlier, earlier.count
                if await _state_of(conn, units) != checked:
                    with _phase("recheck"):
                        out_of_scope += await self._check_state(conn, principal, scope, errors, recheck=True)
                    self._reject_unless_stored_valid(errors, store_valid, out_of_scope)
                with _phase("append"):
                    written = await self._append(conn, reserver, submitter)
                if written is None:
                    return None, chunks.total
                with _phase("remember"):
                    await conn.execute(_REMEMBER_FIGURES)
                finishing = time.perf_counter()
                result = await self._store.finish_submission(conn, submitter, digest, *written)
            IMPORT_PHASE_SECONDS.labels("finish").observe(time.perf_counter() - finishing)  # with the commit
            return result, chunks.total

    async def _append(
        self, conn: asyncpg.Connection, reserver: asyncpg.Connection, submitter: Submitter
    ) -> tuple[int, int] | None:
        """Append a file's staged rows that passed: it reserves its positions on `reserver` and writes them
        without the append lock, so the reports others send meanwhile are stored above it at their usual pace
        (readers see them once it commits)."""
        args = [figure_schema_version(), *figure_event_types()]
        count = await conn.fetchval(_PASSED_COUNT)
        if count == 0:
            return None
        first, last = await EventStore.reserve(reserver, await EventStore.writer_xid(conn), count)
        # Readers wait below the reservation until this commits: a writer that stops answering (its process
        # frozen mid-transaction) is ended by PostgreSQL rather than holding them back for ever.
        await conn.execute(f"SET LOCAL idle_in_transaction_session_timeout = '{WRITER_IDLE_LIMIT}'")
        written = await EventStore.insert_from_query(conn, _EVENTS_FROM_STAGED, args, submitter, after=first - 1)
        if written != (first, last):
            raise RuntimeError(f"reserved positions {first}–{last} for {count} events but wrote {written}")
        await EventStore.release(conn, first)
        return written

    @contextlib.asynccontextmanager
    async def _connection_pair(self) -> AsyncIterator[tuple[asyncpg.Connection, asyncpg.Connection]]:
        """The connection a file works on and a second for its reservation. Both are taken before anything
        is locked, one pair at a time: two files each holding one connection of a pair would otherwise wait
        for ever for the last free one."""
        async with self._pairing:
            conn = await self._pool.acquire()
            try:
                reserver = await self._pool.acquire()
            except BaseException:
                await self._pool.release(conn)
                raise
        try:
            yield conn, reserver
        finally:
            await self._pool.release(reserver)
            await self._pool.release(conn)

    @staticmethod
    def _reject_unless_stored_valid(errors: ErrorLog, store_valid: bool, out_of_scope: int) -> None:
        """Nothing stored when a row failed, unless the valid ones are to be kept. 403 only when rows out of
        the token's scope are all that is wrong: the clerk sees every mistake at once, not one kind at a time."""
        if errors and not store_valid:
            only_scope = out_of_scope == errors.count
            raise SubmissionRejected(errors.kept, total=errors.count, status=403 if only_scope else 422)

    async def _stage(self, conn: asyncpg.Connection, chunks: _Chunks) -> None:
        """Copy every valid row into the staging table; the next chunk is parsed while this one is copied."""
        await conn.execute("TRUNCATE staged_figures, rejected_rows")
        next_chunk = asyncio.create_task(chunks.take_soon())
        staged = 0
        while chunk := await next_chunk:
            next_chunk = asyncio.create_task(chunks.take_soon())
            await conn.copy_records_to_table("staged_figures", records=chunk, columns=_STAGE_COLUMNS)
            staged += len(chunk)
        if staged > SMALL_CHUNK:  # real numbers for the planner
            await conn.execute("ANALYZE staged_figures")

    async def _check_state(
        self, conn: asyncpg.Connection, principal: Principal, scope: set[str] | None, errors: ErrorLog,
        recheck: bool = False,
    ) -> int:  # fmt: skip
        """Log the errors that depend on what is stored; mark their rows rejected; return how many rows
        were outside the principal's scope. On a `recheck` rows already rejected are not reported again."""
        already = {r["row_no"] for r in await conn.fetch("SELECT row_no FROM rejected_rows")} if recheck else set()
        found: list[RowError] = []
        unknown_or_merged = await conn.fetch(_UNKNOWN_OR_MERGED)
        suggest = await _unit_suggestions(conn, {r["unit_code"] for r in unknown_or_merged if r["unknown"]}, scope)
        for r in unknown_or_merged:
            if r["unknown"]:
                reason = f"unknown unit: register it first{suggest.get(r['unit_code'], '')}"
            elif r["exists_from"] is not None and r["as_of"] < r["exists_from"]:
                reason = (
                    f"đơn vị chỉ có từ ngày {r['exists_from']:%d/%m/%Y}: số liệu trước đó thuộc các đơn vị đã hợp thành"
                    f" / unit exists from {r['exists_from']}: figures dated before belong to the units it was"
                    " formed from"
                )
            else:
                reason = f"unit was merged into {r['merged_into']} on {r['merged_on']}: report for {r['merged_into']}"
            found.append(RowError(r["row_no"], "unit_code", r["unit_code"], reason))
        scope_errors: list[RowError] = []
        if scope is not None:
            for r in await conn.fetch(_OUT_OF_SCOPE, sorted(scope)):
                reason = f"outside the scope of {principal.name}"
                scope_errors.append(RowError(r["row_no"], "unit_code", r["unit_code"], reason))
        for r in await conn.fetch(_CUMULATIVE_FALLS):
            if r["prev_amount"] is not None and r["amount"] < r["prev_amount"]:
                reason = (
                    f"lũy kế giảm xuống dưới {vnd(r['prev_amount'])} đã báo cáo ngày {r['prev_date']:%d/%m/%Y}: gửi"
                    f" dưới dạng điều chỉnh có lý do / cumulative falls below {vnd(r['prev_amount'])} reported for"
                    f" {r['prev_date']}: send it as a correction with a reason"
                )
            else:
                reason = (
                    f"lũy kế vượt {vnd(r['next_amount'])} đã báo cáo cho ngày sau {r['next_date']:%d/%m/%Y} /"
                    f" cumulative exceeds {vnd(r['next_amount'])} already reported for the later date {r['next_date']}"
                )
            found.append(RowError(r["row_no"], "amount", f"{r['amount']:f}", reason))
        for r in await conn.fetch(_CHANGED_WITHOUT_REASON):
            found.append(RowError(r["row_no"], "correction_reason", f"{r['amount']:f}", _changed_without_reason(r)))
        found = [e for e in found + scope_errors if e.row not in already]
        for error in sorted(found, key=lambda e: e.row or 0):
            errors.add(error)
        if found:
            await conn.executemany(
                "INSERT INTO rejected_rows (row_no) VALUES ($1) ON CONFLICT DO NOTHING", [(e.row,) for e in found]
            )
        return sum(1 for e in scope_errors if e.row not in already)


def _phase(name: str) -> Timer:
    """Times a phase of a file's import into `pim_ingest_import_phase_seconds`."""
    return IMPORT_PHASE_SECONDS.labels(name).time()


def _changed_without_reason(r: asyncpg.Record) -> str:
    """Why a changed figure with no reason is refused, and what to do, Vietnamese first."""
    day = f"{r['as_of']:%d/%m/%Y}"
    if r["stored_amount"] is not None:
        kind = "" if r["stored_kind"] == "cumulative" else " (số phát sinh / period amount)"
        return (
            f"ngày {day} đã báo cáo {vnd(r['stored_amount'])}{kind}, nay gửi {vnd(r['amount'])}: thay số đã báo"
            f" cáo là điều chỉnh, cần ghi lý do (correction_reason); gửi lại đúng số cũ thì không cần /"
            f" {vnd(r['stored_amount'])}{kind} is already reported for {r['as_of']}, this row says {vnd(r['amount'])}:"
            " changing a reported figure is a correction and needs a correction_reason (the same figure re-sent"
            " needs none)"
        )
    return (
        f"dòng {r['other_row']} gửi số khác cho cùng đơn vị, chỉ tiêu, nguồn và ngày {day}: giữ một dòng, hoặc ghi"
        f" lý do điều chỉnh (correction_reason) / row {r['other_row']} gives another amount for the same unit,"
        f" category and date {r['as_of']}: keep one row, or give a correction_reason"
    )


async def _state_of(conn: asyncpg.Connection, units: list[str]) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await conn.fetch(_STATE_OF_UNITS, units)]


async def _unit_suggestions(conn: asyncpg.Connection, unknown: set[str], scope: set[str] | None) -> dict[str, str]:
    """For each unknown unit code, a "did you mean" naming the nearest registered code (within the token's
    scope when it has one): by spelling, or by the unit's name typed instead of its code ("Lâm Đồng")."""
    if not unknown:
        return {}
    codes = (
        sorted(scope) if scope is not None else [r[0] for r in await conn.fetch("SELECT unit_code FROM ingest_units")]
    )
    hints = {}
    for typed in unknown:
        nearest = difflib.get_close_matches(code_like(typed), codes, n=1, cutoff=0.6)
        if nearest:
            hints[typed] = f"; có phải {nearest[0]!r}? / did you mean {nearest[0]!r}?"
    return hints


# A report empties the staging tables with DELETE, in one prepared statement (plans stay valid) that also says
# how large dead rows have grown them: autovacuum never visits temporary tables, so past a limit they are
# truncated. (A DO block deciding it in the server, with the tables' CREATE … IF NOT EXISTS, cost a report
# two parses and a PL/pgSQL compilation every time: about 0.3 ms of its 3.)
_EMPTY_SMALL = """
WITH staged AS (DELETE FROM staged_figures), rejected AS (DELETE FROM rejected_rows)
SELECT pg_relation_size('staged_figures') + pg_relation_size('rejected_rows')
"""


async def _empty_staging(conn: asyncpg.Connection) -> None:
    """Empty the connection's staging tables for a report, creating them on its first submission."""
    try:
        size = await conn.fetchval(_EMPTY_SMALL)
    except asyncpg.UndefinedTableError:
        await conn.execute(_STAGE)
        return
    if size > STAGING_BLOAT_BYTES:
        await conn.execute("TRUNCATE staged_figures, rejected_rows")


class _Chunks:
    """Pulls parsed rows, applies the checks that need no state, and hands out chunks of valid rows.
    Runs in a worker thread, one `take` at a time."""

    def __init__(
        self, rows: Iterator[FigureRow | None], errors: ErrorLog, today: dt.date,
        categories: dict[Indicator, set[str]],
    ) -> None:  # fmt: skip
        self.rows = rows
        self._errors = errors
        self._today = today
        self._categories = categories
        self.total = 0

    async def take_soon(self) -> list[FigureRow]:
        """The next chunk of a file, parsed in a worker thread: parsing overlaps the database's work."""
        return await asyncio.to_thread(self.take)

    def take(self) -> list[FigureRow]:
        chunk: list[FigureRow] = []
        for figure in self.rows:  # resumes where the previous chunk stopped
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
