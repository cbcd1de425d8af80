"""PIM's web pages for people (the portal): sign-in, and each role's pages, Vietnamese first with English
beside. Pages are rendered on the server from the services' published APIs (`upstream.Services`), acting for
the signed-in person; every form carries its session's token (CSRF); the session cookie is Secure,
HttpOnly and SameSite=Lax (Lax, so the link in an alert's e-mail opens the page signed in)."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations, some of them local aliases.
import csv
import datetime as dt
import hmac
import io
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote

import asyncpg
import httpx
import jinja2
from fastapi import Depends, FastAPI, Form, Path, Query, Request, Response, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup
from starlette.middleware.sessions import SessionMiddleware

from services.portal.chart import progress_chart
from services.portal.link_uses import claim, was_used
from services.portal.sessions import (
    SESSION_LIFETIME,
    Session,
    end_session,
    recent_failures,
    record_sign_in,
    session_of,
    start_session,
    throttled,
)
from services.portal.single_sign_on import SignInRefused, SingleSignOn, verified_email
from services.portal.upstream import NDJSON, Answer, Services
from shared import action_links
from shared.action_links import ActionLink, LinkRefused
from shared.auth import (
    Account,
    AccountRefused,
    change_account,
    check_password,
    create_account,
    create_token,
    find_account,
    get_account,
    list_accounts,
    list_tokens,
    record_access_change,
    revoke_token,
)
from shared.clock import VIETNAM, vietnam_today
from shared.display import (
    ALERT_EVENT_LABELS,
    BAND_LABELS,
    CONCLUSION_LABELS,
    CRITERION_LABELS,
    INDICATOR_LABELS,
    PROMISE_LABELS,
    RULE_LABELS,
    SEVERITY_LABELS,
    STANDING_LABELS,
    STATUS_LABELS,
    count,
    percent,
    vnd,
)
from shared.request_log import RequestLog, note_who

log = logging.getLogger(__name__)
SESSION_COOKIE = "pim_session"
SIGN_IN_COOKIE = "pim_sign_in"  # the sign-in form's own token, before there is a session
ROLE_LABELS = {
    "clerk": "Cán bộ tài chính / finance clerk", "committee": "Ủy ban kiểm tra / inspection committee",
    "head": "Người đứng đầu / head of a unit", "board": "Ban Tổ chức / organization board",
    "admin": "Quản trị / administrator",
}  # fmt: skip
ANSWERABLE_LABELS = {"head": "Người đứng đầu / head", "deputy_in_charge": "Phó phụ trách / deputy in charge"}
DELIVERY_LABELS = {"delivered": "đã gửi / delivered", "waiting": "đang chờ gửi / waiting",
                   "dead_lettered": "không gửi được / failed"}  # fmt: skip
LINK_REFUSALS = {
    "tampered": (403, "Liên kết không hợp lệ / the link is not valid"),
    "expired": (410, "Liên kết đã hết hạn: đăng nhập để mở cảnh báo / the link has expired: sign in to open the alert"),
    "used": (410, "Liên kết đã được dùng: đăng nhập để tiếp tục / the link has been used: sign in to go on"),
    "elsewhere": (403, "Liên kết này dành cho người khác: đăng xuất trước / this link is another person's: sign out"
                       " first"),
}  # fmt: skip
LINK_DONE = {
    "explain": ("Đã gửi giải trình / the explanation is sent", "/head"),
    "acknowledge": ("Đã tiếp nhận cảnh báo / the alert is acknowledged", "/committee/alert?fingerprint={}"),
}
LINK_BUTTONS = {"open": "Mở cảnh báo / Open the alert", "acknowledge": "Xác nhận đã tiếp nhận / Acknowledge"}
SERVICE_AWAY = (
    "Một dịch vụ của PIM tạm thời không trả lời: thử lại sau ít phút / a PIM service is not answering: try again in"
    " a few minutes"
)
NAV = {  # each role's pages, in the order they use them
    "clerk": [("/clerk", "Đơn vị và báo cáo / My units and reports")],
    "committee": [("/committee", "Cảnh báo / Alerts"), ("/committee/digest", "Tổng hợp tháng / The month"),
                  ("/admin/registry", "Đơn vị / Units")],
    "head": [("/head", "Của tôi / Mine")],
    "board": [("/board", "Danh sách xếp loại / Lists"), ("/admin/registry", "Đơn vị / Units")],
    "admin": [("/admin/accounts", "Tài khoản / Accounts"), ("/admin/tokens", "Mã truy cập / Tokens"),
              ("/admin/categories", "Danh mục / Categories"), ("/admin/registry", "Đơn vị / Units"),
              ("/committee", "Cảnh báo / Alerts"), ("/board", "Danh sách / Lists")],
}  # fmt: skip
# Pages name only what PIM serves itself: no script, style or font from anywhere else.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

_pages = jinja2.Environment(
    loader=jinja2.PackageLoader("services.portal", "templates"),
    autoescape=True,  # a unit named <script>…</script> is shown as text
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_pages.filters.update(
    percent=lambda v: "—" if v is None else percent(Decimal(v)),
    money=lambda v: "—" if v is None else vnd(Decimal(v)),  # exact, as a finance clerk writes it
    count=count,  # 80.000
    day=lambda v: "—" if not v else dt.date.fromisoformat(v).strftime("%d/%m/%Y"),  # dd/mm/yyyy, as people write it
    moment=lambda v: dt.datetime.fromisoformat(v).astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M"),  # Vietnam's time
)
_pages.globals.update(
    ROLE_LABELS=ROLE_LABELS,
    NAV=NAV,
    STANDING_LABELS=STANDING_LABELS,
    INDICATOR_LABELS=INDICATOR_LABELS,
    RULE_LABELS=RULE_LABELS,
    SEVERITY_LABELS=SEVERITY_LABELS,
    STATUS_LABELS=STATUS_LABELS,
    ANSWERABLE_LABELS=ANSWERABLE_LABELS,
    EVENT_LABELS=ALERT_EVENT_LABELS,
    DELIVERY_LABELS=DELIVERY_LABELS,
    CONCLUSION_LABELS=CONCLUSION_LABELS,
    CRITERION_LABELS=CRITERION_LABELS,
    BAND_LABELS=BAND_LABELS,
    PROMISE_LABELS=PROMISE_LABELS,
    quote=quote,
)


class SignInNeeded(Exception):
    """No live session: GET pages send the person to sign in; forms are refused."""


class FormRefused(Exception):
    """A form without its session's token (CSRF), or with another's."""


def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_pages.get_template(name).render(context), status_code=status_code)


def create_portal_app(
    pool: asyncpg.Pool, services: Services, today: Callable[[], dt.date] = vietnam_today,
    sso: SingleSignOn | None = None, public_url: str | None = None, link_secret: str | None = None,
) -> FastAPI:  # fmt: skip
    app = FastAPI(title="PIM", docs_url=None, redoc_url=None, openapi_url=None)
    provider = sso.client() if sso else None
    if sso:  # the sign-in's state, nonce and PKCE verifier, for the ten minutes of the round trip
        app.add_middleware(SessionMiddleware, secret_key=sso.state_secret, session_cookie="pim_sso", max_age=600,
                           same_site="lax", https_only=True)  # fmt: skip
    app.state.pool = pool
    app.mount("/static", StaticFiles(directory=str(resources.files("services.portal") / "static")), name="static")

    @app.middleware("http")
    async def secure_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if request.url.path != "/static/portal.css":
            response.headers["Cache-Control"] = "no-store"  # a page of one person's stays with them
        return response

    # outermost: a line per page served; an action link's path is its capability, so it is never logged
    app.add_middleware(RequestLog, service="portal", secret_paths=("/act/",))

    @app.exception_handler(SignInNeeded)
    async def sign_in_first(request: Request, _: SignInNeeded) -> Response:
        if request.method == "GET":  # back to the very page after signing in: the e-mail's link, query and all
            wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/sign-in?next={quote(wanted, safe='/')}", status.HTTP_303_SEE_OTHER)
        return page("refused.html.j2", 401, session=None, reason="Phiên đăng nhập đã kết thúc / your session has ended")

    @app.exception_handler(httpx.HTTPError)
    async def service_away(request: Request, error: httpx.HTTPError) -> Response:
        # A service the page reads is down or failing: say so in the page, never a traceback.
        return page("refused.html.j2", 503, session=None, reason=SERVICE_AWAY)

    @app.exception_handler(FormRefused)
    async def form_refused(request: Request, _: FormRefused) -> Response:
        return page("refused.html.j2", 403, session=None,
                    reason="Biểu mẫu không hợp lệ hoặc đã hết hạn: mở lại trang / the form is not valid or has"
                           " expired: open the page again")  # fmt: skip

    async def current(request: Request) -> Session:
        async with pool.acquire() as conn:
            found = await session_of(conn, request.cookies.get(SESSION_COOKIE))
        if found is None:
            raise SignInNeeded
        note_who(found.account.email)
        return found

    async def with_form_token(request: Request, session: Annotated[Session, Depends(current)]) -> Session:
        form = await request.form()
        sent = form.get("csrf")
        if not isinstance(sent, str) or not hmac.compare_digest(sent, session.csrf_token):
            raise FormRefused
        return session

    Signed = Annotated[Session, Depends(current)]
    Posted = Annotated[Session, Depends(with_form_token)]

    @app.get("/sign-in", response_class=HTMLResponse)
    async def sign_in_page(request: Request, next: str = "/") -> Response:
        token = secrets.token_urlsafe(32)
        response = page("sign_in.html.j2", session=None, csrf=token, next=_local(next), error=None, email="", sso=sso)
        response.set_cookie(SIGN_IN_COOKIE, token, max_age=3600, secure=True, httponly=True, samesite="strict")
        return response

    @app.post("/sign-in", response_class=HTMLResponse)
    async def sign_in(
        request: Request,
        email: Annotated[str, Form(max_length=320)],
        password: Annotated[str, Form(max_length=1000)],
        csrf: Annotated[str, Form(max_length=100)] = "",
        next: Annotated[str, Form(max_length=500)] = "/",
    ) -> Response:
        expected = request.cookies.get(SIGN_IN_COOKIE, "")
        if not expected or not hmac.compare_digest(csrf, expected):
            raise FormRefused
        client = request.client.host if request.client else "?"
        async with pool.acquire() as conn:
            if throttled(*await recent_failures(conn, email, client)):
                await record_sign_in(conn, email, client, None, "throttled")
                return page("sign_in.html.j2", 429, session=None, csrf=csrf, next=_local(next), email=email, sso=sso,
                            error="Quá nhiều lần đăng nhập sai: thử lại sau 15 phút / too many failed sign-ins:"
                                  " try again in 15 minutes")  # fmt: skip
            account = await check_password(conn, email, password)
            if account is None:
                await record_sign_in(conn, email, client, None, "refused")
                return page("sign_in.html.j2", 401, session=None, csrf=csrf, next=_local(next), email=email, sso=sso,
                            error="Sai e-mail hoặc mật khẩu / wrong e-mail or password")  # fmt: skip
            secret, _ = await start_session(conn, account)
            await record_sign_in(conn, email, client, account.account_id, "signed_in")
        response = RedirectResponse(_local(next), status.HTTP_303_SEE_OTHER)
        response.set_cookie(SESSION_COOKIE, secret, max_age=int(SESSION_LIFETIME.total_seconds()), secure=True,
                            httponly=True, samesite="lax")  # fmt: skip
        response.delete_cookie(SIGN_IN_COOKIE)
        return response

    @app.get("/sign-in/sso")
    async def sign_in_sso(request: Request, next: str = "/") -> Response:
        """To the province's provider, which sends the person back to `sign_in_sso_done`."""
        if provider is None:
            return page("refused.html.j2", 404, session=None, reason="Chưa cấu hình / not configured")
        request.session["next"] = _local(next)
        back = f"{public_url.rstrip('/')}/sign-in/sso/done" if public_url else str(request.url_for("sign_in_sso_done"))
        redirect: Response = await provider.authorize_redirect(request, back)
        return redirect

    @app.get("/sign-in/sso/done", name="sign_in_sso_done")
    async def sign_in_sso_done(request: Request) -> Response:
        """The provider's answer: the e-mail it vouches for opens that PIM account's session, if there is one
        and it is enabled (an admin makes it, as for a password)."""
        if provider is None:
            return page("refused.html.j2", 404, session=None, reason="Chưa cấu hình / not configured")
        client = request.client.host if request.client else "?"
        try:
            email = await verified_email(provider, request)
        except SignInRefused as refused:
            return page("refused.html.j2", 401, session=None, reason=str(refused))
        async with pool.acquire() as conn:
            account = await find_account(conn, email)
            if account is None or account.disabled:
                await record_sign_in(conn, email, client, None, "refused", "oidc")
                reason = (f"{email} chưa có tài khoản PIM hoặc đã bị khóa: đề nghị quản trị tạo tài khoản / {email}"
                          " has no PIM account, or it is disabled: ask your administrator")  # fmt: skip
                return page("refused.html.j2", 403, session=None, reason=reason)
            secret, _ = await start_session(conn, account)
            await record_sign_in(conn, email, client, account.account_id, "signed_in", "oidc")
        response = RedirectResponse(_local(request.session.pop("next", "/")), status.HTTP_303_SEE_OTHER)
        response.set_cookie(SESSION_COOKIE, secret, max_age=int(SESSION_LIFETIME.total_seconds()), secure=True,
                            httponly=True, samesite="lax")  # fmt: skip
        return response

    @app.post("/sign-out")
    async def sign_out(request: Request, session: Posted) -> Response:
        async with pool.acquire() as conn:
            await end_session(conn, request.cookies.get(SESSION_COOKIE, ""))
            await record_sign_in(conn, session.account.email, request.client.host if request.client else "?",
                                 session.account.account_id, "signed_out")  # fmt: skip
        response = RedirectResponse("/sign-in", status.HTTP_303_SEE_OTHER)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/", response_class=HTMLResponse)
    async def home(session: Signed) -> Response:
        if session.account.role == "clerk":
            return RedirectResponse("/clerk", status.HTTP_303_SEE_OTHER)
        if session.account.role == "committee":
            return RedirectResponse("/committee", status.HTTP_303_SEE_OTHER)
        if session.account.role == "board":
            return RedirectResponse("/board", status.HTTP_303_SEE_OTHER)
        if session.account.role == "admin":
            return RedirectResponse("/admin/accounts", status.HTTP_303_SEE_OTHER)
        if session.account.role == "head":
            return RedirectResponse("/head", status.HTTP_303_SEE_OTHER)
        return page("home.html.j2", session=session)

    @app.get("/clerk", response_class=HTMLResponse)
    async def clerk_home(session: Signed) -> Response:
        _only(session, "clerk")
        return page("clerk.html.j2", session=session, **await _clerk_view(services, session, today()))

    @app.get("/clerk/template.xlsx")
    async def clerk_template(session: Signed) -> Response:
        _only(session, "clerk")
        return Response(
            await services.template_xlsx(session.account),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": 'attachment; filename="pim-bao-cao.xlsx"'},
        )

    @app.post("/clerk/upload", response_class=HTMLResponse)
    async def clerk_upload(
        request: Request, session: Posted, file: UploadFile, key: Annotated[str | None, Form(max_length=100)] = None
    ) -> Response:
        """The clerk's file to the ingest's import. A page that asks for progress (its script, with `Accept:
        application/x-ndjson`) gets the import's progress lines as they come, then the page to show."""
        _only(session, "clerk")
        content = await file.read()
        sent = (session.account, file.filename or "bao-cao", content, file.content_type or "application/octet-stream")

        async def answered(answer: Answer) -> HTMLResponse:
            view = await _clerk_view(services, session, today())
            view.update(upload=answer.body, upload_status=answer.status, filename=file.filename)
            return page("clerk.html.j2", 200 if answer.status < 400 else 422, session=session, **view)

        if NDJSON not in request.headers.get("accept", ""):
            return await answered(await services.import_figures(*sent, key=key))

        async def lines() -> AsyncIterator[bytes]:
            try:
                async for progress in services.import_progress(*sent, key=key):
                    if isinstance(progress, Answer):
                        shown = await answered(progress)
                        yield _json_line({"status": shown.status_code, "page": bytes(shown.body).decode()})
                    else:
                        yield _json_line({"progress": progress})
            except httpx.HTTPError:  # the ingest went away: said in the page, as for a plain request
                away = page("refused.html.j2", 503, session=session, reason=SERVICE_AWAY)
                yield _json_line({"status": 503, "page": bytes(away.body).decode()})

        return StreamingResponse(lines(), media_type=NDJSON)

    @app.post("/clerk/refused.csv")
    async def clerk_refused_rows(
        session: Posted,
        errors: Annotated[str, Form(max_length=5_000_000)],
        filename: Annotated[str, Form(max_length=300)] = "bao-cao",
    ) -> Response:
        """The refused rows of the page's upload, as a CSV the clerk opens in Excel beside their file: row,
        column, value, what to do (UTF-8 with its mark, so Excel reads the diacritics)."""
        _only(session, "clerk")
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

    @app.post("/clerk/report", response_class=HTMLResponse)
    async def clerk_report(
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
        _only(session, "clerk")
        indicator, _, code = category.partition("|")
        typed = {"unit_code": unit_code, "indicator": indicator, "plan_year": plan_year, "category": code,
                 "as_of": as_of, "amount": amount, "correction_reason": correction_reason}  # fmt: skip
        answer = await services.import_figures(session.account, "bieu-mau.csv", one_row_csv(typed), "text/csv", key)
        view = await _clerk_view(services, session, today())
        view.update(report=answer.body, report_status=answer.status, typed=typed)
        return page("clerk.html.j2", 200 if answer.status < 400 else 422, session=session, **view)

    @app.get("/committee", response_class=HTMLResponse)
    async def committee_inbox(
        session: Signed,
        status_filter: Annotated[str, Query(alias="status")] = "open",
        severity: Annotated[str, Query(max_length=20)] = "",
        rule: Annotated[str, Query(max_length=100)] = "",
        unit: Annotated[str, Query(max_length=200)] = "",
        escalated: Annotated[bool, Query()] = False,
    ) -> Response:
        _only(session, "committee", "admin")
        if status_filter not in ("open", "resolved", "all"):
            status_filter = "open"
        alerts = await services.alerts(session.account, status_filter) if services.alerts_served else []
        names = {u["unit_code"]: u["name"] for u in await services.units(session.account)}
        counts = {level: sum(1 for a in alerts if a["severity"] == level) for level in SEVERITY_LABELS}
        wanted = unit.casefold().strip()
        shown = [
            a for a in alerts
            if (not severity or a["severity"] == severity) and (not rule or a["rule"] == rule)
            and (not escalated or a["escalated_to"]) and (not wanted or wanted in a["unit_code"].casefold()
                                                          or wanted in names.get(a["unit_code"], "").casefold())
        ]  # fmt: skip
        # Overdue first: the oldest by the alerts service's own age, then the most severe.
        shown.sort(key=lambda a: (-(a.get("age_days") or 0), a["severity"] != "critical", a["fingerprint"]))
        filters = {"status": status_filter, "severity": severity, "rule": rule, "unit": unit, "escalated": escalated}
        return page("committee.html.j2", session=session, alerts=shown, counts=counts, filters=filters,
                    rules=sorted({a["rule"] for a in alerts}), served=services.alerts_served, names=names)  # fmt: skip

    @app.get("/committee/digest", response_class=HTMLResponse)
    async def committee_digest(
        session: Signed, month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None
    ) -> Response:
        """The month in the person's jurisdiction: opened, asked, explained, concluded, promises due, overdue."""
        _only(session, "committee", "admin")
        month = month or f"{today():%Y-%m}"
        counted = await services.digest(session.account, month) if services.alerts_served else None
        return page("digest.html.j2", session=session, month=month, digest=counted)

    @app.get("/committee/alert", response_class=HTMLResponse)
    async def alert_page(session: Signed, fingerprint: Annotated[str, Query(max_length=500)]) -> Response:
        _only(session, "committee", "admin")
        context = await _alert_context(session.account, fingerprint)
        if context is None:  # not there, or outside the person's jurisdiction: the same answer
            return page(
                "refused.html.j2",
                404,
                session=session,
                reason="Không có cảnh báo này trong phạm vi của bạn / no such alert in your jurisdiction",
            )
        return page("alert.html.j2", session=session, **context)

    async def _alert_context(account: Account, fingerprint: str) -> dict[str, Any] | None:
        """What the alert's page shows, read for `account`: None when it is not in their jurisdiction."""
        found = await services.alert(account, fingerprint) if services.alerts_served else None
        if found is None:
            return None
        names = {u["unit_code"]: u["name"] for u in await services.units(account)}
        year = None
        if found["indicator"] is not None:  # a finding about a vote has no year of figures
            year = await services.unit_year(account, found["unit_code"], found["indicator"], found["plan_year"],
                                            today())  # fmt: skip
        rules = await services.review_rules(account)  # one call: the causes' labels and the due days
        return dict(alert=found, names=names, year=year, today=today(), review=found.get("review"),
                    commitments=found.get("commitments", []), causes=rules["causes"],
                    explanation_days=rules["explanation_working_days"],
                    **_year_view(year, names.get(found["unit_code"], found["unit_code"])))  # fmt: skip

    @app.post("/committee/alert", response_class=HTMLResponse)
    async def alert_act(
        session: Posted,
        fingerprint: Annotated[str, Form(max_length=500)],
        action: Annotated[str, Form(pattern="^(ack|silence|resolve|explanation-request)$")],
        text: Annotated[str, Form(max_length=4000)] = "",
        until: Annotated[str, Form(max_length=10)] = "",
        outcome: Annotated[str, Form(max_length=40)] = "",
        document: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        _only(session, "committee", "admin")
        body: dict[str, dict[str, Any]] = {
            "ack": {"note": text},
            "silence": {"until": until, "reason": text},
            "resolve": {"conclusion": text, "outcome": outcome or None, "document": document},
            "explanation-request": {"note": text},
        }
        answer = await services.alert_action(session.account, fingerprint, action, body[action])
        if answer.status >= 400:
            return page("refused.html.j2", answer.status, session=session, reason=refusal_text(answer.body))
        return RedirectResponse(f"/committee/alert?fingerprint={quote(fingerprint)}", status.HTTP_303_SEE_OTHER)

    @app.get("/head", response_class=HTMLResponse)
    async def head_home(session: Signed) -> Response:
        """The head of a unit: the alerts that name them, and their units' standing."""
        _only(session, "head")
        alerts = await services.alerts_naming(session.account) if services.alerts_served else []
        view = await _units_view(services, session, today())
        leader = await services.leader(session.account, session.account.leader_id or "")
        leader_names = {u["unit_code"]: u["name"] for u in view["units"]}
        scores = None
        if leader is not None:
            year = max((y["plan_year"] for y in leader["years"]), default=today().year)
            scores = await services.scores(session.account, session.account.leader_id or "", year)
        return page("head.html.j2", session=session, alerts=alerts, leader=leader, leader_names=leader_names,
                    scores=scores, **view)  # fmt: skip

    @app.get("/head/explain", response_class=HTMLResponse)
    async def explain_page(session: Signed, fingerprint: Annotated[str, Query(max_length=500)]) -> Response:
        """The explanation the committee asked of this head: the alert, its evidence, and the form."""
        _only(session, "head", "clerk")
        return await _explain_page(session, fingerprint, None, 200)

    @app.post("/head/explain", response_class=HTMLResponse)
    async def explain(request: Request, session: Posted) -> Response:
        """Causes (ticked), the text, a document, and up to three commitments (indicator, date, rate in %)."""
        _only(session, "head", "clerk")
        form = await request.form()
        fingerprint = str(form.get("fingerprint", ""))[:500]
        try:
            body = _explanation(form)
        except ValueError as wrong:
            return await _explain_page(session, fingerprint, str(wrong), 422)
        answer = await services.alert_action(session.account, fingerprint, "explanation", body)
        if answer.status >= 400:
            return await _explain_page(session, fingerprint, refusal_text(answer.body), answer.status)
        return RedirectResponse("/head" if session.account.role == "head" else "/clerk", status.HTTP_303_SEE_OTHER)

    async def _explain_page(
        session: Session | None, fingerprint: str, error: str | None, status_code: int,
        account: Account | None = None, token: str | None = None,
    ) -> Response:  # fmt: skip
        """The form for the person signed in, or (with `token`) for the one the e-mail's link was sent to."""
        account = session.account if session else account
        assert account is not None
        found = await services.alert_as_answerer(account, fingerprint) if services.alerts_served else None
        if found is None:
            none = "Không có yêu cầu giải trình này cho bạn / no such explanation asked of you"
            return page("refused.html.j2", 404, session=session, reason=none)
        causes = (await services.review_rules(account))["causes"]
        action = f"/act/{token}" if token else "/head/explain"
        return page("explain.html.j2", status_code, session=session, account=account, alert=found, causes=causes,
                    error=error, today=today(), form_action=action)  # fmt: skip

    # Signed action links (shared/action_links.py), from the e-mails: one person, one alert, one purpose. The
    # GET only shows what the link is for (mail scanners open links); the POST acts, and spends the link.
    async def _link(request: Request, token: str) -> tuple[ActionLink, Account]:
        if link_secret is None:
            raise LinkRefused("tampered")
        link = action_links.read(link_secret, token, dt.datetime.now(dt.UTC))
        async with pool.acquire() as conn:
            if await was_used(conn, link):
                raise LinkRefused("used")
            account = await get_account(conn, link.account_id)
            signed_in = await session_of(conn, request.cookies.get(SESSION_COOKIE))
        if account is None or account.disabled:
            raise LinkRefused("tampered")
        if signed_in is not None and signed_in.account.account_id != account.account_id:
            raise LinkRefused("elsewhere")  # the browser is someone else's: never act for two people in one
        return link, account

    @app.exception_handler(LinkRefused)
    async def link_refused(request: Request, refused: LinkRefused) -> Response:
        log.warning("action link refused (%s) from %s", refused.reason, _client(request))
        status_code, reason = LINK_REFUSALS[refused.reason]
        return page("refused.html.j2", status_code, session=None, reason=reason)

    @app.get("/act/{token}", response_class=HTMLResponse)
    async def action_link(request: Request, token: Annotated[str, Path(max_length=2000)]) -> Response:
        link, account = await _link(request, token)
        if link.purpose == "explain":
            return await _explain_page(None, link.fingerprint, None, 200, account, token)
        found = await services.alert(account, link.fingerprint) if services.alerts_served else None
        if found is None:
            raise LinkRefused("tampered")
        return page("act.html.j2", session=None, alert=found, account=account, token=token, done=None,
                    button=LINK_BUTTONS[link.purpose])  # fmt: skip

    @app.post("/act/{token}", response_class=HTMLResponse)
    async def act_by_link(request: Request, token: Annotated[str, Path(max_length=2000)]) -> Response:
        link, account = await _link(request, token)
        body: dict[str, Any] = {}
        if link.purpose == "explain":
            try:
                body = _explanation(await request.form())
            except ValueError as wrong:
                return await _explain_page(None, link.fingerprint, str(wrong), 422, account, token)
            found = await services.alert_as_answerer(account, link.fingerprint) if services.alerts_served else None
        else:
            found = await services.alert(account, link.fingerprint) if services.alerts_served else None
        if found is None:
            raise LinkRefused("tampered")
        async with pool.acquire() as conn:
            use = conn.transaction()
            await use.start()
            try:
                if not await claim(conn, link, _client(request)):
                    raise LinkRefused("used")
                answer = await _act(link, account, body)
                if answer is not None and answer.status >= 400 and link.purpose == "explain":
                    await use.rollback()  # a refused explanation leaves the link for the corrected one
                else:
                    await use.commit()  # the action is made: the link is spent, whatever the page shows next
            except BaseException:
                await use.rollback()
                raise
        if answer is not None and answer.status >= 400:
            if link.purpose == "explain":
                return await _explain_page(None, link.fingerprint, refusal_text(answer.body), answer.status,
                                           account, token)  # fmt: skip
            return page("refused.html.j2", answer.status, session=None, reason=refusal_text(answer.body))
        if link.purpose == "open":
            context = await _alert_context(account, link.fingerprint)
            assert context is not None
            return page("alert.html.j2", session=None, **context)
        done, next_page = LINK_DONE[link.purpose]
        return page("act.html.j2", session=None, alert=found, account=account, token=token, done=done,
                    next_page=next_page.format(quote(link.fingerprint)), button="")  # fmt: skip

    async def _act(link: ActionLink, account: Account, body: dict[str, Any]) -> Answer | None:
        """The link's one action, for its person (the services check their role and scope again)."""
        if link.purpose == "explain":
            return await services.alert_action(account, link.fingerprint, "explanation", body)
        if link.purpose == "acknowledge":
            note = {"note": "Tiếp nhận qua liên kết trong e-mail / acknowledged by the e-mail's link"}
            return await services.alert_action(account, link.fingerprint, "ack", note)
        return None  # "open": reading is the purpose

    @app.get("/board", response_class=HTMLResponse)
    async def board_lists(
        session: Signed,
        as_of: Annotated[dt.date | None, Query()] = None,
        indicator: Annotated[str, Query(pattern="^(public_investment_disbursement|budget_revenue)$")] = (
            "public_investment_disbursement"
        ),
        group: Annotated[str, Query(max_length=100)] = "national",
    ) -> Response:
        """The Ministry-style lists of a group as of a date, as the projector keeps them, and the pack."""
        _only(session, "board", "admin")
        day = as_of or today()
        lists = await services.standings_of(session.account, day, indicator, group)
        return page("board.html.j2", session=session, lists=lists, as_of=day, indicator=indicator, group=group,
                    quote=quote)  # fmt: skip

    @app.get("/board/pack")
    async def board_pack(
        session: Signed,
        as_of: Annotated[dt.date, Query()],
        indicator: Annotated[str, Query(pattern="^(public_investment_disbursement|budget_revenue)$")],
        group: Annotated[str, Query(max_length=100)],
        known_on: Annotated[dt.date | None, Query()] = None,
    ) -> Response:
        _only(session, "board", "admin")
        answer = await services.board_pack(session.account, as_of, indicator, group, known_on)
        if answer.status_code != 200:
            return page("refused.html.j2", answer.status_code, session=session, reason=refusal_text(answer.json()))
        return Response(
            answer.content,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{_pack_name(group, as_of, known_on)}"'},
        )

    @app.get("/unit", response_class=HTMLResponse)
    async def unit_page(
        session: Signed,
        code: Annotated[str, Query(max_length=64)],
        indicator: Annotated[str, Query(pattern="^(public_investment_disbursement|budget_revenue)$")] = (
            "public_investment_disbursement"
        ),
        plan_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
        as_of: Annotated[dt.date | None, Query()] = None,
    ) -> Response:
        """A unit's plan year: its rate against the pace on each reported date, as a chart and a table, and
        who answered for it in which months. Any role, for the units in its scope (others: not found)."""
        day = as_of or today()
        year = await services.unit_year(session.account, code, indicator, plan_year or day.year, day)
        names = {u["unit_code"]: u["name"] for u in await services.units(session.account)}
        if year is None or code not in names:
            return page("refused.html.j2", 404, session=session,
                        reason="Không có đơn vị này trong phạm vi của bạn / no such unit in your scope")  # fmt: skip
        return page("unit.html.j2", session=session, year=year, unit_name=names[code], code=code, indicator=indicator,
                    as_of=day, **_year_view(year, names[code]))  # fmt: skip

    @app.get("/leader", response_class=HTMLResponse)
    async def leader_page(session: Signed, leader_id: Annotated[str, Query(alias="id", max_length=128)]) -> Response:
        """A leader's scorecard: months behind the pace per plan year over every stint (boards, committees,
        admins; a head sees their own)."""
        found = await services.leader(session.account, leader_id)
        if found is None:
            return page("refused.html.j2", 404, session=session,
                        reason="Không có người này trong phạm vi của bạn / no such leader you may read")  # fmt: skip
        names = {u["unit_code"]: u["name"] for u in await services.units(session.account)}
        year = max((y["plan_year"] for y in found["years"]), default=today().year)
        scores = await services.scores(session.account, leader_id, year)
        return page("leader.html.j2", session=session, leader=found, names=names, scores=scores)

    @app.get("/admin/accounts", response_class=HTMLResponse)
    async def admin_accounts(session: Signed) -> Response:
        _only(session, "admin")
        return await _accounts_page(session, None, 200)

    @app.post("/admin/accounts", response_class=HTMLResponse)
    async def admin_create_account(
        session: Posted,
        email: Annotated[str, Form(max_length=320)],
        name: Annotated[str, Form(min_length=1, max_length=300)],
        role: Annotated[str, Form(max_length=20)],
        password: Annotated[str, Form(max_length=1000)],
        units: Annotated[str, Form(max_length=5000)] = "",
        everywhere: Annotated[bool, Form()] = False,
        leader_id: Annotated[str, Form(max_length=128)] = "",
    ) -> Response:
        _only(session, "admin")
        codes = [code for code in units.replace(",", " ").split() if code]
        async with pool.acquire() as conn, conn.transaction():
            try:
                await create_account(conn, email, name, role, codes, everywhere, leader_id or None, password)  # type: ignore[arg-type]
                await record_access_change(conn, session.account.principal().name, "account_made", email.strip(),
                                           role=role, units=codes, everywhere=everywhere)  # fmt: skip
            except AccountRefused as refused:
                return await _accounts_page(session, f"Không tạo được / not made: {refused}", 422)
        return RedirectResponse("/admin/accounts", status.HTTP_303_SEE_OTHER)

    @app.post("/admin/accounts/disabled", response_class=HTMLResponse)
    async def admin_disable_account(
        session: Posted, account_id: Annotated[str, Form(max_length=64)], disabled: Annotated[bool, Form()]
    ) -> Response:
        _only(session, "admin")
        if account_id == session.account.account_id:
            return await _accounts_page(session, "Không tự khóa tài khoản của mình / you cannot disable yourself", 422)
        async with pool.acquire() as conn, conn.transaction():
            try:
                changed = await change_account(conn, account_id, disabled=disabled)
                await record_access_change(conn, session.account.principal().name, "account_changed", changed.email,
                                           disabled=disabled)  # fmt: skip
            except AccountRefused as refused:
                return await _accounts_page(session, str(refused), 404)
        return RedirectResponse("/admin/accounts", status.HTTP_303_SEE_OTHER)

    @app.get("/admin/tokens", response_class=HTMLResponse)
    async def admin_tokens(session: Signed) -> Response:
        _only(session, "admin")
        return await _tokens_page(session, None, None, 200)

    @app.post("/admin/tokens", response_class=HTMLResponse)
    async def admin_create_token(
        session: Posted,
        name: Annotated[str, Form(min_length=1, max_length=200)],
        role: Annotated[str, Form(pattern="^(admin|department|committee|board|portal)$")],
        units: Annotated[str, Form(max_length=5000)] = "",
    ) -> Response:
        """A token for a machine (a finance department's system, a committee's tool). Its secret is shown
        once, in this answer, and never again."""
        _only(session, "admin")
        codes = [code for code in units.replace(",", " ").split() if code]
        async with pool.acquire() as conn, conn.transaction():
            try:
                secret = await create_token(conn, name, role, codes)  # type: ignore[arg-type]
                await record_access_change(conn, session.account.principal().name, "token_made", secret.split("_")[1],
                                           name=name, role=role, units=codes)  # fmt: skip
            except ValueError as refused:
                return await _tokens_page(session, f"Không tạo được / not made: {refused}", None, 422)
        return await _tokens_page(session, None, secret, 201)

    @app.post("/admin/tokens/revoked", response_class=HTMLResponse)
    async def admin_revoke_token(session: Posted, token_id: Annotated[str, Form(max_length=64)]) -> Response:
        _only(session, "admin")
        async with pool.acquire() as conn, conn.transaction():
            if await revoke_token(conn, token_id):
                await record_access_change(conn, session.account.principal().name, "token_revoked", token_id)
        return RedirectResponse("/admin/tokens", status.HTTP_303_SEE_OTHER)

    async def _tokens_page(session: Session, error: str | None, secret: str | None, status_code: int) -> Response:
        async with pool.acquire() as conn:
            tokens = await list_tokens(conn)
        return page("tokens.html.j2", status_code, session=session, tokens=tokens, error=error, secret=secret)

    @app.get("/admin/categories", response_class=HTMLResponse)
    async def admin_categories(session: Signed) -> Response:
        _only(session, "admin")
        return page("categories.html.j2", session=session, categories=await services.categories(session.account),
                    error=None)  # fmt: skip

    @app.post("/admin/categories", response_class=HTMLResponse)
    async def admin_declare_category(
        session: Posted,
        indicator: Annotated[str, Form(pattern="^(public_investment_disbursement|budget_revenue)$")],
        code: Annotated[str, Form(max_length=64)],
        name: Annotated[str, Form(max_length=300)],
    ) -> Response:
        _only(session, "admin")
        answer = await services.declare_category(session.account, indicator, code, name)
        if answer.status >= 400:
            return page("categories.html.j2", answer.status, session=session, error=refusal_text(answer.body),
                        categories=await services.categories(session.account))  # fmt: skip
        return RedirectResponse("/admin/categories", status.HTTP_303_SEE_OTHER)

    @app.get("/admin/registry", response_class=HTMLResponse)
    async def admin_registry(session: Signed, as_of: Annotated[dt.date | None, Query()] = None) -> Response:
        """The unit registry as it stands, or as it stood on a date (every unit's name, parent, committee
        and head then)."""
        _only(session, "admin", "board", "committee")
        day = as_of or today()
        return page("registry.html.j2", session=session, units=await services.registry(session.account, day),
                    as_of=day)  # fmt: skip

    async def _accounts_page(session: Session, error: str | None, status_code: int) -> Response:
        async with pool.acquire() as conn:
            people = await list_accounts(conn)
            changes = await conn.fetch("SELECT * FROM access_changes ORDER BY id DESC LIMIT 50")
        return page("accounts.html.j2", status_code, session=session, accounts=people, error=error,
                    changes=[dict(c) for c in changes])  # fmt: skip

    return app


def _only(session: Session, *roles: str) -> None:
    if session.account.role not in roles:
        raise FormRefused


def refusal_text(body: dict[str, Any]) -> str:
    """A service's refusal in words (its one error shape): each field refused and why, else the detail."""
    errors = body.get("errors") or []
    return "; ".join(f"{e.get('field')}: {e.get('reason')}" for e in errors) or str(body.get("detail"))


def _cell(value: object) -> str:
    """A value for a CSV cell that Excel opens: never a formula (a value like =HYPERLINK(…) is shown as text)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _json_line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode() + b"\n"


def _explanation(form: Any) -> dict[str, Any]:
    """The explanation form as the alerts service takes it; ValueError naming a commitment row that is wrong."""
    return {"causes": [str(c) for c in form.getlist("causes")][:10], "text": str(form.get("text", ""))[:4000],
            "document": str(form.get("document", ""))[:200], "commitments": _commitments(form)}  # fmt: skip


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def _commitments(form: Any) -> list[dict[str, str]]:
    """The form's commitment rows that are filled: indicator, date and a rate in percent ("70" or "70,5")."""
    made = []
    for n in range(1, 4):
        by, rate = str(form.get(f"c{n}_by", "")).strip(), str(form.get(f"c{n}_rate", "")).strip()
        if not by and not rate:
            continue
        if not by or not rate:
            raise ValueError(f"cam kết {n}: cần cả ngày và tỷ lệ / commitment {n}: needs both a date and a rate")
        try:
            share = Decimal(rate.replace("%", "").replace(",", ".").strip()) / 100
        except ArithmeticError:
            raise ValueError(f"cam kết {n}: {rate!r} không phải tỷ lệ / commitment {n}: {rate!r} is no rate") from None
        made.append({"indicator": str(form.get(f"c{n}_indicator", "")), "by": by, "rate": str(share)})
    return made


def one_row_csv(cells: dict[str, str]) -> bytes:
    """A form's figure as the ingest's file import reads it: a header of column keys, one row, UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(cells)
    writer.writerow(cells.values())
    return out.getvalue().encode()


def _pack_name(group: str, as_of: dt.date, known_on: dt.date | None) -> str:
    known = f"-biet-den-{known_on}" if known_on else ""
    return f"pim-bao-cao-{group.replace('/', '-')}-{as_of}{known}.pdf"


def _year_view(year: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """The chart of a unit's year, and the stint of each head who answered for it."""
    if year is None:
        return {"chart": Markup(""), "stints": []}
    label = f"{name}: tỷ lệ so với tiến độ / rate against the pace, {year['plan_year']}"
    return {"chart": progress_chart(year["months"], year["plan_year"], label), "stints": year["stints"]}


def _local(target: str) -> str:
    """Where to go after signing in: a path of this site only (never another site's address)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


async def _clerk_view(services: Services, session: Session, today: dt.date) -> dict[str, Any]:
    """The clerk's units (`_units_view`), and what they sent."""
    view = await _units_view(services, session, today)
    view.update(upload=None, upload_status=None, filename=None, sent=await services.submissions(session.account),
                categories=await services.categories(session.account), report=None, report_status=None, typed={},
                form_key=secrets.token_urlsafe(24), upload_key=secrets.token_urlsafe(24),
                alerts=await services.alerts(session.account) if services.alerts_served else None)  # fmt: skip
    return view


async def _units_view(services: Services, session: Session, today: dt.date) -> dict[str, Any]:
    """The person's units with each indicator's standing (rate, standing, rank, figures' date) and reporting
    on time, as the projector publishes them."""
    account = session.account
    units = await services.units(account)
    mine = {u["unit_code"] for u in units}
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for indicator in INDICATOR_LABELS:
        standings = await services.standings(account, today, indicator=indicator)
        for group in standings["groups"]:
            members = [u for lst in group["lists"] for u in (*lst["at_or_above"], *lst["below"])]
            for unit in members + group["not_assessed"]:
                if unit["unit_code"] in mine and (unit["unit_code"], indicator) not in rows:
                    rows[unit["unit_code"], indicator] = {"unit": unit, "group": group, "indicator": indicator}
        reporting = await services.reporting(account, today, indicator=indicator)
        for group in reporting["groups"]:
            for unit in group["units"]:
                if (unit["unit_code"], indicator) in rows:
                    rows[unit["unit_code"], indicator].setdefault("sent", unit)
    return {"units": units, "rows": sorted(rows.values(), key=lambda r: (r["unit"]["name"], r["indicator"])),
            "today": today}  # fmt: skip
