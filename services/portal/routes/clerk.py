"""The finance clerk's pages: their units and what they sent, the spreadsheet template, an upload (with
its progress as it imports, and the refused rows as a CSV for Excel), and one figure typed in a form."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.
import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Form, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, StreamingResponse

from services.portal.upstream import NDJSON, Answer
from services.portal.views import clerk_view
from services.portal.web import (
    SERVICE_AWAY,
    FormRefused,
    PortalOf,
    Posted,
    Signed,
    only,
    page,
)

router = APIRouter()


@router.get("/clerk", response_class=HTMLResponse)
async def clerk_home(portal: PortalOf, session: Signed) -> Response:
    only(session, "clerk")
    return page("clerk.html.j2", session=session, **await clerk_view(portal.services, session, portal.today()))


@router.get("/clerk/template.xlsx")
async def clerk_template(portal: PortalOf, session: Signed) -> Response:
    only(session, "clerk")
    return Response(
        await portal.services.template_xlsx(session.account),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="pim-bao-cao.xlsx"'},
    )


@router.post("/clerk/upload", response_class=HTMLResponse)
async def clerk_upload(
    portal: PortalOf,
    request: Request,
    session: Posted,
    file: UploadFile,
    key: Annotated[str | None, Form(max_length=100)] = None,
) -> Response:
    """The clerk's file to the ingest's import. A page that asks for progress (its script, with `Accept:
    application/x-ndjson`) gets the import's progress lines as they come, then the page to show."""
    only(session, "clerk")
    content = await file.read()
    sent = (session.account, file.filename or "bao-cao", content, file.content_type or "application/octet-stream")

    async def answered(answer: Answer) -> HTMLResponse:
        view = await clerk_view(portal.services, session, portal.today())
        view.update(upload=answer.body, upload_status=answer.status, filename=file.filename)
        return page("clerk.html.j2", 200 if answer.status < 400 else 422, session=session, **view)

    if NDJSON not in request.headers.get("accept", ""):
        return await answered(await portal.services.import_figures(*sent, key=key))

    async def lines() -> AsyncIterator[bytes]:
        try:
            async for progress in portal.services.import_progress(*sent, key=key):
                if isinstance(progress, Answer):
                    shown = await answered(progress)
                    yield _json_line({"status": shown.status_code, "page": bytes(shown.body).decode()})
                else:
                    yield _json_line({"progress": progress})
        except httpx.HTTPError:  # the ingest went away: said in the page, as for a plain request
            away = page("refused.html.j2", 503, session=session, reason=SERVICE_AWAY)
            yield _json_line({"status": 503, "page": bytes(away.body).decode()})

    return StreamingResponse(lines(), media_type=NDJSON)


@router.post("/clerk/refused.csv")
async def clerk_refused_rows(
    session: Posted,
    errors: Annotated[str, Form(max_length=5_000_000)],
    filename: Annotated[str, Form(max_length=300)] = "bao-cao",
) -> Response:
    """The refused rows of the page's upload, as a CSV the clerk opens in Excel beside their file: row,
    column, value, what to do (UTF-8 with its mark, so Excel reads the diacritics)."""
    only(session, "clerk")
    try:
        rows = [e for e in json.loads(errors) if isinstance(e, dict)]
    except ValueError:
        raise FormRefused from None
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Dòng / Row", "Cột / Column", "Giá trị / Value", "Cần sửa / What to do"])
    for e in rows:
        writer.writerow([_cell(e.get("row")), _cell(e.get("field")), _cell(e.get("value")), _cell(e.get("reason"))])
    stem = "".join(c for c in filename.rsplit(".", 1)[0] if c.isalnum() or c in "-_")[:80] or "bao-cao"
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{stem}-loi.csv"'})  # fmt: skip


@router.post("/clerk/report", response_class=HTMLResponse)
async def clerk_report(
    portal: PortalOf,
    session: Posted,
    unit_code: Annotated[str, Form(max_length=64)],
    category: Annotated[str, Form(max_length=200)],
    plan_year: Annotated[str, Form(max_length=10)],
    as_of: Annotated[str, Form(max_length=20)],
    amount: Annotated[str, Form(max_length=100)],
    key: Annotated[str, Form(min_length=16, max_length=100)],
    correction_reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """One figure typed in a form, sent as a one-row file so the ingest reads it as it reads a clerk's
    spreadsheet: money as people write it ("52,5 tỷ", "1.250.000.000 đ"), a correction with its reason.
    The form's own key makes a double click store it once."""
    only(session, "clerk")
    indicator, _, code = category.partition("|")
    typed = {"unit_code": unit_code, "indicator": indicator, "plan_year": plan_year, "category": code,
             "as_of": as_of, "amount": amount, "correction_reason": correction_reason}  # fmt: skip
    answer = await portal.services.import_figures(session.account, "bieu-mau.csv", one_row_csv(typed), "text/csv", key)
    view = await clerk_view(portal.services, session, portal.today())
    view.update(report=answer.body, report_status=answer.status, typed=typed)
    return page("clerk.html.j2", 200 if answer.status < 400 else 422, session=session, **view)


def _cell(value: object) -> str:
    """A value for a CSV cell that Excel opens: never a formula (a value like =HYPERLINK(…) is shown as text)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _json_line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode() + b"\n"


def one_row_csv(cells: dict[str, str]) -> bytes:
    """A form's figure as the ingest's file import reads it: a header of column keys, one row, UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(cells)
    writer.writerow(cells.values())
    return out.getvalue().encode()
