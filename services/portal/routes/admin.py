"""The administrator's pages: accounts, machine tokens (a secret shown once), categories, and the unit
registry as it stands or stood (also for boards and committees)."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Query, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from services.portal.sessions import (
    Session,
)
from services.portal.web import (
    Portal,
    PortalOf,
    Posted,
    Signed,
    only,
    page,
    refusal_text,
)
from shared.auth import (
    AccountRefused,
    change_account,
    create_account,
    create_token,
    list_accounts,
    list_tokens,
    record_access_change,
    revoke_token,
)

router = APIRouter()


@router.get("/admin/accounts", response_class=HTMLResponse)
async def admin_accounts(portal: PortalOf, session: Signed) -> Response:
    only(session, "admin")
    return await _accounts_page(portal, session, None, 200)


@router.post("/admin/accounts", response_class=HTMLResponse)
async def admin_create_account(
    portal: PortalOf,
    session: Posted,
    email: Annotated[str, Form(max_length=320)],
    name: Annotated[str, Form(min_length=1, max_length=300)],
    role: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=1000)],
    units: Annotated[str, Form(max_length=5000)] = "",
    everywhere: Annotated[bool, Form()] = False,
    leader_id: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    only(session, "admin")
    codes = [code for code in units.replace(",", " ").split() if code]
    async with portal.pool.acquire() as conn, conn.transaction():
        try:
            await create_account(conn, email, name, role, codes, everywhere, leader_id or None, password)  # type: ignore[arg-type]
            await record_access_change(conn, session.account.principal().name, "account_made", email.strip(),
                                       role=role, units=codes, everywhere=everywhere)  # fmt: skip
        except AccountRefused as refused:
            return await _accounts_page(portal, session, f"Không tạo được / not made: {refused}", 422)
    return RedirectResponse("/admin/accounts", status.HTTP_303_SEE_OTHER)


@router.post("/admin/accounts/disabled", response_class=HTMLResponse)
async def admin_disable_account(
    portal: PortalOf,
    session: Posted,
    account_id: Annotated[str, Form(max_length=64)],
    disabled: Annotated[bool, Form()],
) -> Response:
    only(session, "admin")
    if account_id == session.account.account_id:
        return await _accounts_page(
            portal, session, "Không tự khóa tài khoản của mình / you cannot disable yourself", 422
        )
    async with portal.pool.acquire() as conn, conn.transaction():
        try:
            changed = await change_account(conn, account_id, disabled=disabled)
            await record_access_change(conn, session.account.principal().name, "account_changed", changed.email,
                                       disabled=disabled)  # fmt: skip
        except AccountRefused as refused:
            return await _accounts_page(portal, session, str(refused), 404)
    return RedirectResponse("/admin/accounts", status.HTTP_303_SEE_OTHER)


@router.get("/admin/tokens", response_class=HTMLResponse)
async def admin_tokens(portal: PortalOf, session: Signed) -> Response:
    only(session, "admin")
    return await _tokens_page(portal, session, None, None, 200)


@router.post("/admin/tokens", response_class=HTMLResponse)
async def admin_create_token(
    portal: PortalOf,
    session: Posted,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    role: Annotated[str, Form(pattern="^(admin|department|committee|board|portal)$")],
    units: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """A token for a machine (a finance department's system, a committee's tool). Its secret is shown
    once, in this answer, and never again."""
    only(session, "admin")
    codes = [code for code in units.replace(",", " ").split() if code]
    async with portal.pool.acquire() as conn, conn.transaction():
        try:
            secret = await create_token(conn, name, role, codes)  # type: ignore[arg-type]
            await record_access_change(conn, session.account.principal().name, "token_made", secret.split("_")[1],
                                       name=name, role=role, units=codes)  # fmt: skip
        except ValueError as refused:
            return await _tokens_page(portal, session, f"Không tạo được / not made: {refused}", None, 422)
    return await _tokens_page(portal, session, None, secret, 201)


@router.post("/admin/tokens/revoked", response_class=HTMLResponse)
async def admin_revoke_token(
    portal: PortalOf, session: Posted, token_id: Annotated[str, Form(max_length=64)]
) -> Response:
    only(session, "admin")
    async with portal.pool.acquire() as conn, conn.transaction():
        if await revoke_token(conn, token_id):
            await record_access_change(conn, session.account.principal().name, "token_revoked", token_id)
    return RedirectResponse("/admin/tokens", status.HTTP_303_SEE_OTHER)


async def _tokens_page(
    portal: Portal, session: Session, error: str | None, secret: str | None, status_code: int
) -> Response:
    async with portal.pool.acquire() as conn:
        tokens = await list_tokens(conn)
    return page("tokens.html.j2", status_code, session=session, tokens=tokens, error=error, secret=secret)


@router.get("/admin/categories", response_class=HTMLResponse)
async def admin_categories(portal: PortalOf, session: Signed) -> Response:
    only(session, "admin")
    return page("categories.html.j2", session=session, categories=await portal.services.categories(session.account),
                error=None)  # fmt: skip


@router.post("/admin/categories", response_class=HTMLResponse)
async def admin_declare_category(
    portal: PortalOf,
    session: Posted,
    indicator: Annotated[str, Form(pattern="^(public_investment_disbursement|budget_revenue)$")],
    code: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=300)],
) -> Response:
    only(session, "admin")
    answer = await portal.services.declare_category(session.account, indicator, code, name)
    if answer.status >= 400:
        return page("categories.html.j2", answer.status, session=session, error=refusal_text(answer.body),
                    categories=await portal.services.categories(session.account))  # fmt: skip
    return RedirectResponse("/admin/categories", status.HTTP_303_SEE_OTHER)


@router.get("/admin/registry", response_class=HTMLResponse)
async def admin_registry(
    portal: PortalOf, session: Signed, as_of: Annotated[dt.date | None, Query()] = None
) -> Response:
    """The unit registry as it stands, or as it stood on a date (every unit's name, parent, committee
    and head then)."""
    only(session, "admin", "board", "committee")
    day = as_of or portal.today()
    return page("registry.html.j2", session=session, units=await portal.services.registry(session.account, day),
                as_of=day)  # fmt: skip


async def _accounts_page(portal: Portal, session: Session, error: str | None, status_code: int) -> Response:
    async with portal.pool.acquire() as conn:
        people = await list_accounts(conn)
        changes = await conn.fetch("SELECT * FROM access_changes ORDER BY id DESC LIMIT 50")
    return page("accounts.html.j2", status_code, session=session, accounts=people, error=error,
                changes=[dict(c) for c in changes])  # fmt: skip
