"""What every page of the portal shares: the templates and their labels, the signed-in person (a session,
checked on every request) and a form's token (CSRF), and the portal's collaborators, handed in by
`create_portal_app` (app.py) and read by each page through `PortalOf`."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.
import datetime as dt
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote

import asyncpg
import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from services.portal.sessions import Session, session_of
from services.portal.single_sign_on import SingleSignOn
from services.portal.upstream import Services
from shared.clock import VIETNAM
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
from shared.request_log import note_who

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


@dataclass(frozen=True)
class Portal:
    """The portal's collaborators: its own tables (sessions, accounts), the services' APIs it acts on for
    the signed-in person, the clock, and the sign-in and action-link settings."""

    pool: asyncpg.Pool
    services: Services
    today: Callable[[], dt.date]
    sso: SingleSignOn | None
    provider: Any  # the province's OpenID Connect client (authlib), when single sign-on is set
    public_url: str | None
    link_secret: str | None


async def portal_of(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


PortalOf = Annotated[Portal, Depends(portal_of)]


async def current(request: Request, portal: PortalOf) -> Session:
    async with portal.pool.acquire() as conn:
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


Signed = Annotated[Session, Depends(current)]  # a page for a signed-in person
Posted = Annotated[Session, Depends(with_form_token)]  # a form of theirs, with its session's token


def only(session: Session, *roles: str) -> None:
    if session.account.role not in roles:
        raise FormRefused


def refusal_text(body: dict[str, Any]) -> str:
    """A service's refusal in words (its one error shape): each field refused and why, else the detail."""
    errors = body.get("errors") or []
    return "; ".join(f"{e.get('field')}: {e.get('reason')}" for e in errors) or str(body.get("detail"))


def client_of(request: Request) -> str:
    return request.client.host if request.client else "-"
