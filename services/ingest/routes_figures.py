"""The figures' routes: a report as JSON, a file's import (with its progress as it goes), the templates a
clerk fills in, and what a caller sent."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from starlette.datastructures import UploadFile as StarletteUpload

from services.ingest.errors import ErrorLog, RowError, SubmissionRejected
from services.ingest.figure_rows import figure_from_event
from services.ingest.file_import import import_figure_file
from services.ingest.files import MAX_FILE_BYTES, count_rows
from services.ingest.import_progress import NDJSON, RowsRead, progress_lines, wants_progress
from services.ingest.registry import registry_categories, units_with_names
from services.ingest.submissions import (
    FiguresSubmission,
)
from services.ingest.templates import XLSX_MEDIA_TYPE, figures_csv_template, figures_xlsx_template
from services.ingest.web import (
    PROGRESS_STREAM,
    READ_ERRORS,
    UPLOAD_BODY,
    WRITE_ERRORS,
    Accepted,
    IdempotencyKey,
    ImportReport,
    IngestOf,
    accepted,
    import_answer,
    submitter,
)
from shared.auth import units_in_scope
from shared.event_store import content_hash, receipts_of
from shared.http_auth import BEARER, Anyone, principal_of
from shared.money import plain_json_value

router = APIRouter()


@router.post("/v1/figures", status_code=201, tags=["figures"], responses=WRITE_ERRORS)
async def report_figures(
    ingest: IngestOf,
    body: FiguresSubmission,
    response: Response,
    who: Anyone,
    key: IdempotencyKey = None,
    store_valid: Annotated[bool, Query(description="store the valid rows even if some fail")] = False,
) -> Accepted:
    events = [*body.disbursements, *body.revenues, *body.corrections]
    rows = [figure_from_event(event, row) for row, event in enumerate(events, start=1)]
    result = await ingest.intake.submit(rows, who, submitter(who, key), content_hash(events), store_valid=store_valid)
    if result.append is None:
        raise SubmissionRejected(result.errors, total=len(result.errors))
    return await accepted(ingest, result.append, response)


@router.post(
    "/v1/imports/figures",
    tags=["figures"],
    response_model=ImportReport,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=UPLOAD_BODY,
    responses={**WRITE_ERRORS, **PROGRESS_STREAM},
)
async def import_figures(
    ingest: IngestOf,
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
            ingest.intake, path, who, channel="http-upload", idempotency_key=key, store_valid=store_valid,
            errors=ErrorLog(), on_rows=read,
        ))  # fmt: skip
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    work.add_done_callback(lambda _: shutil.rmtree(folder, ignore_errors=True))  # the file goes with it
    if wants_progress(request.headers.get("accept", "")):
        total = await asyncio.to_thread(count_rows, path)
        return StreamingResponse(progress_lines(work, read, total, import_answer), media_type=NDJSON)
    code, body = import_answer(await work)
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
        raise SubmissionRejected([RowError(None, "file", None, "the form has no file: send it as the field `file`")])
    try:
        while block := await upload.read(1 << 20):
            yield block
    finally:
        await form.close()


@router.get("/v1/templates/figures.csv", tags=["figures"])
async def figures_template_csv() -> Response:
    return Response(
        figures_csv_template(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="pim-figures-template.csv"'},
    )


@router.get("/v1/templates/figures.xlsx", tags=["figures"], responses=READ_ERRORS)
async def figures_template_xlsx(
    ingest: IngestOf, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
) -> Response:
    """The spreadsheet template; sent with a token, it lists the units that token may report for."""
    principal = None if credentials is None else await principal_of(request, credentials.credentials)
    async with ingest.pool.acquire() as conn:
        categories = await registry_categories(conn)
        units: list[tuple[str, str]] = []
        if principal is not None:
            units = await units_with_names(conn, await units_in_scope(conn, principal))
    return Response(
        figures_xlsx_template(categories, units),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="pim-figures-template.xlsx"'},
    )


@router.get("/v1/submissions", tags=["figures"], responses=READ_ERRORS)
async def get_submissions(ingest: IngestOf, who: Anyone) -> JSONResponse:
    """What the caller sent, newest first (the last 50): each submission's receipt — its positions in the
    event log, when, through which channel, how many facts, how many corrections, the units and the
    dates they are about."""
    async with ingest.pool.acquire() as conn:
        receipts = await receipts_of(conn, who.name)
    return JSONResponse({"submitted_by": who.name, "submissions": [plain_json_value(asdict(r)) for r in receipts]})
