"""Signing in and out: a password (throttled after failures, the form's own token before there is a
session) or the province's single sign-on; and home, which sends each role to its pages."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.
import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from services.portal.sessions import (
    SESSION_LIFETIME,
    end_session,
    recent_failures,
    record_sign_in,
    start_session,
    throttled,
)
from services.portal.single_sign_on import SignInRefused, verified_email
from services.portal.web import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    FormRefused,
    PortalOf,
    Posted,
    Signed,
    page,
)
from shared.auth import (
    check_password,
    find_account,
)

router = APIRouter()


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(portal: PortalOf, request: Request, next: str = "/") -> Response:
    token = secrets.token_urlsafe(32)
    response = page(
        "sign_in.html.j2", session=None, csrf=token, next=_local(next), error=None, email="", sso=portal.sso
    )
    response.set_cookie(SIGN_IN_COOKIE, token, max_age=3600, secure=True, httponly=True, samesite="strict")
    return response


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(
    portal: PortalOf,
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
    async with portal.pool.acquire() as conn:
        if throttled(*await recent_failures(conn, email, client)):
            await record_sign_in(conn, email, client, None, "throttled")
            return page("sign_in.html.j2", 429, session=None, csrf=csrf, next=_local(next), email=email, sso=portal.sso,
                        error="Quá nhiều lần đăng nhập sai: thử lại sau 15 phút / too many failed sign-ins:"
                              " try again in 15 minutes")  # fmt: skip
        account = await check_password(conn, email, password)
        if account is None:
            await record_sign_in(conn, email, client, None, "refused")
            return page("sign_in.html.j2", 401, session=None, csrf=csrf, next=_local(next), email=email, sso=portal.sso,
                        error="Sai e-mail hoặc mật khẩu / wrong e-mail or password")  # fmt: skip
        secret, _ = await start_session(conn, account)
        await record_sign_in(conn, email, client, account.account_id, "signed_in")
    response = RedirectResponse(_local(next), status.HTTP_303_SEE_OTHER)
    response.set_cookie(SESSION_COOKIE, secret, max_age=int(SESSION_LIFETIME.total_seconds()), secure=True,
                        httponly=True, samesite="lax")  # fmt: skip
    response.delete_cookie(SIGN_IN_COOKIE)
    return response


@router.get("/sign-in/sso")
async def sign_in_sso(portal: PortalOf, request: Request, next: str = "/") -> Response:
    """To the province's provider, which sends the person back to `sign_in_sso_done`."""
    if portal.provider is None:
        return page("refused.html.j2", 404, session=None, reason="Chưa cấu hình / not configured")
    request.session["next"] = _local(next)
    back = (
        f"{portal.public_url.rstrip('/')}/sign-in/sso/done"
        if portal.public_url
        else str(request.url_for("sign_in_sso_done"))
    )
    redirect: Response = await portal.provider.authorize_redirect(request, back)
    return redirect


@router.get("/sign-in/sso/done", name="sign_in_sso_done")
async def sign_in_sso_done(portal: PortalOf, request: Request) -> Response:
    """The portal.provider's answer: the e-mail it vouches for opens that PIM account's session, if there is one
    and it is enabled (an admin makes it, as for a password)."""
    if portal.provider is None:
        return page("refused.html.j2", 404, session=None, reason="Chưa cấu hình / not configured")
    client = request.client.host if request.client else "?"
    try:
        email = await verified_email(portal.provider, request)
    except SignInRefused as refused:
        return page("refused.html.j2", 401, session=None, reason=str(refused))
    async with portal.pool.acquire() as conn:
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


@router.post("/sign-out")
async def sign_out(portal: PortalOf, request: Request, session: Posted) -> Response:
    async with portal.pool.acquire() as conn:
        await end_session(conn, request.cookies.get(SESSION_COOKIE, ""))
        await record_sign_in(conn, session.account.email, request.client.host if request.client else "?",
                             session.account.account_id, "signed_out")  # fmt: skip
    response = RedirectResponse("/sign-in", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
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


def _local(target: str) -> str:
    """Where to go after signing in: a path of this site only (never another site's address)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"
