"""PIM's web pages for people (the portal): sign-in, and each role's pages, Vietnamese first with English
beside. Pages are rendered on the server from the services' published APIs (`upstream.Services`), acting for
the signed-in person; every form carries its session's token (CSRF); the session cookie is Secure,
HttpOnly and SameSite=Lax (Lax, so the link in an alert's e-mail opens the page signed in).

This module wires the application: headers, the refusals every page shares, and the pages of `routes/`."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from urllib.parse import quote

import asyncpg
import httpx
from fastapi import FastAPI, Request, Response, status
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from services.portal.routes import action_links, admin, board, clerk, committee, head, sign_in
from services.portal.single_sign_on import SingleSignOn
from services.portal.upstream import Services
from services.portal.web import (
    LINK_REFUSALS,
    ROLE_LABELS,
    SECURITY_HEADERS,
    SERVICE_AWAY,
    FormRefused,
    Portal,
    SignInNeeded,
    client_of,
    page,
)
from shared.action_links import LinkRefused
from shared.clock import vietnam_today
from shared.request_log import RequestLog

__all__ = ["ROLE_LABELS", "create_portal_app"]
log = logging.getLogger(__name__)


def create_portal_app(
    pool: asyncpg.Pool, services: Services, today: Callable[[], dt.date] = vietnam_today,
    sso: SingleSignOn | None = None, public_url: str | None = None, link_secret: str | None = None,
) -> FastAPI:  # fmt: skip
    app = FastAPI(title="PIM", docs_url=None, redoc_url=None, openapi_url=None)
    if sso:  # the sign-in's state, nonce and PKCE verifier, for the ten minutes of the round trip
        app.add_middleware(SessionMiddleware, secret_key=sso.state_secret, session_cookie="pim_sso", max_age=600,
                           same_site="lax", https_only=True)  # fmt: skip
    app.state.pool = pool
    app.state.portal = Portal(pool, services, today, sso, sso.client() if sso else None, public_url, link_secret)
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

    @app.exception_handler(LinkRefused)
    async def link_refused(request: Request, refused: LinkRefused) -> Response:
        log.warning("action link refused (%s) from %s", refused.reason, client_of(request))
        status_code, reason = LINK_REFUSALS[refused.reason]
        return page("refused.html.j2", status_code, session=None, reason=reason)

    for pages in (sign_in, clerk, committee, head, action_links, board, admin):
        app.include_router(pages.router)
    return app
