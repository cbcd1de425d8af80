"""The ingest HTTP API: finance departments and registry clerks submit facts.

Authentication is a bearer token (`pim tokens create`). Each request is one submission: its events are
stored together or not at all. An `Idempotency-Key` header makes re-sending safe: the same key returns
the original events (200), the same key with other content is refused (409). Errors name the row, the
field, the value and the reason.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile as StarletteUpload

from services.ingest.errors import ErrorLog, RowError, SubmissionRejected, refusal
from services.ingest.figure_intake import FigureIntake, IntakeResult
from services.ingest.figure_rows import figure_from_event
from services.ingest.file_import import import_figure_file
from services.ingest.files import MAX_FILE_BYTES, count_rows
from services.ingest.import_progress import NDJSON, RowsRead, progress_lines, wants_progress
from services.ingest.registry import Registry, registry_categories, registry_category_names, units_with_names
from services.ingest.submissions import (
    CategoriesSubmission,
    DeparturesSubmission,
    FiguresSubmission,
    MergersSubmission,
    TargetsSubmission,
    TenuresSubmission,
    UnitsSubmission,
    VotesSubmission,
)
from services.ingest.templates import XLSX_MEDIA_TYPE, figures_csv_template, figures_xlsx_template
from shared.api_errors import answer_invalid_requests, error_responses
from shared.auth import ACCOUNT_HEADER, Principal, units_in_scope
from shared.event_store import AppendResult, EventStore, IdempotencyConflict, Submitter, content_hash, receipts_of
from shared.events import DomainEvent
from shared.http_auth import BEARER, authenticated, request_principal
from shared.request_limits import JsonBodyLimits
from shared.request_log import RequestLog, current_request_id, note_outcome
from shared.resilience import answer_unavailable
from shared.standings import plain_json_value

EVENT_IDS_UP_TO = 10_000
# The upload's body in OpenAPI: the file as it is, or a form with the field `file`.
_FILE = {"type": "string", "format": "binary"}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": _FILE},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": _FILE},
            "multipart/form-data": {"schema": {"type": "object", "properties": {"file": _FILE}, "required": ["file"]}},
        },
    }
}  # larger submissions answer with the position range only


class Accepted(BaseModel):
    first_position: int
    last_position: int
    count: int
    duplicate: bool
    event_ids: list[str] | None = Field(description="the events' ids; omitted above 10,000 events")


class ImportReport(BaseModel):
    rows: int
    stored: int
    rejected: int
    errors: list[dict[str, Any]]
    first_position: int | None
    last_position: int | None
    duplicate: bool


async def admin_principal(who: Annotated[Principal, Depends(request_principal)]) -> Principal:
    if not who.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "registry and target changes need an admin token")
    return who


# The error statuses each kind of route answers with, documented in its OpenAPI in the one error shape.
WRITE_ERRORS = error_responses(401, 403, 409, 413, 415, 422, 503)
# Asked for with `Accept: application/x-ndjson` (services/ingest/import_progress.py).
PROGRESS_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": 'With `Accept: application/x-ndjson`: a line `{"progress": {"phase": "reading" |'
        ' "storing", "rows_read": n, "rows_total": n|null}}` every half second while the file is read, checked'
        ' and stored, then `{"status": code, "body": …}`, the status and body the request would otherwise get'
        " (the report, or the error shape)."
        " Without it: the file had been imported before, its report.",
        "content": {NDJSON: {"schema": {"type": "string"}}},
    }
}
READ_ERRORS = error_responses(401, 503)
QUERY_ERRORS = error_responses(401, 422, 503)
HEALTH_ERRORS = error_responses(503)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]
Admin = Annotated[Principal, Depends(admin_principal)]
Anyone = Annotated[Principal, Depends(request_principal)]


def create_app(pool: asyncpg.Pool, clock: Callable[[], dt.date] = dt.date.today) -> FastAPI:
    app = FastAPIOffline(  # /docs and /redoc with their scripts served by PIM: they render with no internet
        title="PIM ingest",
        version="1",
        description="Budget-revenue and public-investment disbursement figures, targets and the unit registry.",
    )
    app.state.pool = pool
    answer_unavailable(app)
    app.add_middleware(JsonBodyLimits, other_max_bytes=MAX_FILE_BYTES + (1 << 20))  # a form's envelope
    app.add_middleware(RequestLog, service="ingest")  # outermost: it sees every answer, refusals included
    store = EventStore(pool)
    registry = Registry(pool)
    intake = FigureIntake(pool, clock)

    answer_invalid_requests(app)

    @app.exception_handler(SubmissionRejected)
    async def on_rejected(_: Request, exc: SubmissionRejected) -> JSONResponse:
        code, body = refusal(exc)
        return JSONResponse(status_code=code, content=body)

    @app.exception_handler(IdempotencyConflict)
    async def on_conflict(_: Request, exc: IdempotencyConflict) -> JSONResponse:
        code, body = refusal(exc)
        return JSONResponse(status_code=code, content=body)

    def submitter(who: Principal, key: str | None, channel: str = "http") -> Submitter:
        return Submitter(who.name, channel, source=who.name if key else None, idempotency_key=key,
                         correlation_id=current_request_id())  # fmt: skip

    async def accepted(result: AppendResult, response: Response) -> Accepted:
        response.status_code = status.HTTP_200_OK if result.duplicate else status.HTTP_201_CREATED
        note_outcome(_stored(result))
        ids = [str(i) for i in await store.event_ids(result)] if result.count <= EVENT_IDS_UP_TO else None
        return Accepted(
            first_position=result.first_position,
            last_position=result.last_position,
            count=result.count,
            duplicate=result.duplicate,
            event_ids=ids,
        )

    async def registry_submit(
        events: list[DomainEvent], who: Principal, key: str | None, response: Response
    ) -> Accepted:
        return await accepted(await registry.submit(events, submitter(who, key)), response)

    @app.post("/v1/units", status_code=201, tags=["registry"], responses=WRITE_ERRORS)
    async def register_units(
        body: UnitsSubmission, response: Response, who: Admin, key: IdempotencyKey = None
    ) -> Accepted:
        return await registry_submit(list(body.units), who, key, response)

    @app.post("/v1/mergers", status_code=201, tags=["registry"], responses=WRITE_ERRORS)
    async def merge_units(
        body: MergersSubmission, response: Response, who: Admin, key: IdempotencyKey = None
    ) -> Accepted:
        """Units merged into one (`mergers`), or dissolved with their plan and year to date handed to several
        receivers in stated amounts (`dissolutions`)."""
        events: list[DomainEvent] = [*body.mergers, *body.dissolutions]
        if not events:
            raise SubmissionRejected([RowError(None, "mergers", None, "the submission holds no merger or dissolution")])
        return await registry_submit(events, who, key, response)

    @app.post("/v1/tenures", status_code=201, tags=["registry"], responses=WRITE_ERRORS)
    async def record_tenures(
        body: TenuresSubmission, response: Response, who: Admin, key: IdempotencyKey = None
    ) -> Accepted:
        return await registry_submit([e for t in body.tenures for e in t.events()], who, key, response)

    @app.post("/v1/departures", status_code=201, tags=["registry"], responses=WRITE_ERRORS)
    async def record_departures(
        body: DeparturesSubmission, response: Response, who: Admin, key: IdempotencyKey = None
    ) -> Accepted:
        return await registry_submit(list(body.departures), who, key, response)

    @app.post("/v1/votes", status_code=201, tags=["registry"], responses=WRITE_ERRORS)
    async def record_votes(
        body: VotesSubmission, response: Response, who: Admin, key: IdempotencyKey = None
    ) -> Accepted:
        return await registry_submit(list(body.votes), who, key, response)

    @app.post("/v1/categories", status_code=201, tags=["registry"], responses=WRITE_ERRORS)
    async def declare_categories(
        body: CategoriesSubmission, response: Response, who: Admin, key: IdempotencyKey = None
    ) -> Accepted:
        """Add capital sources or revenue categories to the registry (the Ministry's classification is
        there from the start)."""
        return await registry_submit(list(body.categories), who, key, response)

    @app.get("/v1/categories", tags=["registry"], responses=QUERY_ERRORS)
    async def list_categories(
        _: Anyone, labelled: Annotated[bool, Query(description="each code with its label")] = False
    ) -> dict[str, Any]:
        """The codes a figure's category may take, per indicator; with `labelled`, per indicator a list of
        `{"code", "name"}` (the label Vietnamese first, English beside), as a drop-down shows them."""
        async with pool.acquire() as conn:
            if labelled:
                named = await registry_category_names(conn)
                return {
                    i.value: [{"code": c, "name": n} for c, n in sorted(codes.items())] for i, codes in named.items()
                }
            known = await registry_categories(conn)
        return {indicator.value: sorted(codes) for indicator, codes in known.items()}

    @app.post("/v1/targets", status_code=201, tags=["targets"], responses=WRITE_ERRORS)
    async def set_targets(
        body: TargetsSubmission, response: Response, who: Admin, key: IdempotencyKey = None
    ) -> Accepted:
        events: list[DomainEvent] = [*body.targets, *body.adjustments, *body.milestones]
        if not events:
            raise SubmissionRejected([RowError(None, "targets", None, "the submission holds no targets")])
        return await registry_submit(events, who, key, response)

    @app.post("/v1/figures", status_code=201, tags=["figures"], responses=WRITE_ERRORS)
    async def report_figures(
        body: FiguresSubmission,
        response: Response,
        who: Anyone,
        key: IdempotencyKey = None,
        store_valid: Annotated[bool, Query(description="store the valid rows even if some fail")] = False,
    ) -> Accepted:
        events = [*body.disbursements, *body.revenues, *body.corrections]
        rows = [figure_from_event(event, row) for row, event in enumerate(events, start=1)]
        result = await intake.submit(rows, who, submitter(who, key), content_hash(events), store_valid=store_valid)
        if result.append is None:
            raise SubmissionRejected(result.errors, total=len(result.errors))
        return await accepted(result.append, response)

    @app.post(
        "/v1/imports/figures",
        tags=["figures"],
        response_model=ImportReport,
        status_code=status.HTTP_201_CREATED,
        openapi_extra=UPLOAD_BODY,
        responses={**WRITE_ERRORS, **PROGRESS_STREAM},
    )
    async def import_figures(
        request: Request,
        who: Anyone,
        key: IdempotencyKey = None,
        store_valid: Annotated[bool, Query(description="store the valid rows even if some fail")] = False,
    ) -> Response:
        """Upload a CSV (UTF-8) or XLSX file: as the request body (`curl --data-binary @file.xlsx`) or as the
        form field `file` (`curl -F file=@file.xlsx`)."""
        declared = int(request.headers.get("content-length") or 0)
        if declared > MAX_FILE_BYTES:
            raise SubmissionRejected(
                [RowError(None, "file", None, f"the file is {declared:,} bytes; the limit is {MAX_FILE_BYTES:,}")],
                status=413,
            )
        folder = Path(tempfile.mkdtemp(prefix="pim-upload-"))
        try:
            path = await _receive(request, folder / "upload")
            read = RowsRead()
            work = asyncio.ensure_future(import_figure_file(
                intake, path, who, channel="http-upload", idempotency_key=key, store_valid=store_valid,
                errors=ErrorLog(), on_rows=read,
            ))  # fmt: skip
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        work.add_done_callback(lambda _: shutil.rmtree(folder, ignore_errors=True))  # the file goes with it
        if wants_progress(request.headers.get("accept", "")):
            total = await asyncio.to_thread(count_rows, path)
            return StreamingResponse(progress_lines(work, read, total, _answer), media_type=NDJSON)
        code, body = _answer(await work)
        return JSONResponse(status_code=code, content=body)

    async def _receive(request: Request, path: Path) -> Path:
        """Write the uploaded file to `path`, refusing it once it passes the size limit."""
        size = 0
        with path.open("wb") as out:
            async for block in _file_blocks(request):
                size += len(block)
                if size > MAX_FILE_BYTES:  # a client that lied about (or left out) the length
                    raise SubmissionRejected(
                        [RowError(None, "file", None, f"the file exceeds the limit of {MAX_FILE_BYTES:,} bytes")],
                        status=413,
                    )
                out.write(block)
        return path

    async def _file_blocks(request: Request) -> AsyncIterator[bytes]:
        """The uploaded file's bytes: the body itself, or the one file of a multipart form."""
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            async for block in request.stream():
                yield block
            return
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file") or next((v for v in form.values() if isinstance(v, StarletteUpload)), None)
        if not isinstance(upload, StarletteUpload):
            raise SubmissionRejected(
                [RowError(None, "file", None, "the form has no file: send it as the field `file`")]
            )
        try:
            while block := await upload.read(1 << 20):
                yield block
        finally:
            await form.close()

    @app.get("/v1/templates/figures.csv", tags=["figures"])
    async def figures_template_csv() -> Response:
        return Response(
            figures_csv_template(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="pim-figures-template.csv"'},
        )

    @app.get("/v1/templates/figures.xlsx", tags=["figures"], responses=READ_ERRORS)
    async def figures_template_xlsx(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
    ) -> Response:
        """The spreadsheet template; sent with a token, it lists the units that token may report for."""
        async with pool.acquire() as conn:
            categories = await registry_categories(conn)
            units: list[tuple[str, str]] = []
            if credentials is not None:
                principal = await authenticated(conn, credentials.credentials, request.headers.get(ACCOUNT_HEADER))
                units = await units_with_names(conn, await units_in_scope(conn, principal))
        return Response(
            figures_xlsx_template(categories, units),
            media_type=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": 'attachment; filename="pim-figures-template.xlsx"'},
        )

    @app.get("/v1/submissions", tags=["figures"], responses=READ_ERRORS)
    async def get_submissions(who: Anyone) -> JSONResponse:
        """What the caller sent, newest first (the last 50): each submission's receipt — its positions in the
        event log, when, through which channel, how many facts, how many corrections, the units and the
        dates they are about."""
        async with pool.acquire() as conn:
            receipts = await receipts_of(conn, who.name)
        return JSONResponse({"submitted_by": who.name, "submissions": [plain_json_value(asdict(r)) for r in receipts]})

    @app.get("/v1/units", tags=["registry"], responses=READ_ERRORS)
    async def get_units(who: Anyone) -> JSONResponse:
        """The units the caller acts for (with everything below them; every unit for an admin or a scope of
        the whole country), not merged or dissolved away: code and name, by code."""
        async with pool.acquire() as conn:
            units = await units_with_names(conn, await units_in_scope(conn, who))
        return JSONResponse({"units": [{"unit_code": code, "name": name} for code, name in units]})

    @app.get("/health", tags=["operations"], responses=HEALTH_ERRORS)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _stored(append: AppendResult) -> str:
    where = f"positions {append.first_position}–{append.last_position}"
    return f"a repeat: stored before at {where}" if append.duplicate else f"stored {append.count} events at {where}"


def _answer(result: IntakeResult) -> tuple[int, dict[str, Any]]:
    """An import's status and body: 201 with its report, 200 when the file had been imported before."""
    if result.append is not None:
        note_outcome(f"{result.rows} rows, {result.rejected} rejected; {_stored(result.append)}")
    code = status.HTTP_200_OK if result.duplicate else status.HTTP_201_CREATED
    return code, json.loads(_import_report(result).model_dump_json())


def _import_report(result: IntakeResult) -> ImportReport:
    append = result.append
    return ImportReport(
        rows=result.rows,
        stored=result.stored,
        rejected=result.rejected,
        errors=[e.as_dict() for e in result.errors],
        first_position=append.first_position if append else None,
        last_position=append.last_position if append else None,
        duplicate=result.duplicate,
    )
