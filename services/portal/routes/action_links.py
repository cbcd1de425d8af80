"""Signed action links (shared/action_links.py), from the e-mails: one person, one alert, one purpose. The
GET only shows what the link is for (mail scanners open links); the POST acts, and spends the link."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.
import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse

from services.portal.link_uses import claim, was_used
from services.portal.sessions import (
    session_of,
)
from services.portal.upstream import Answer
from services.portal.views import alert_context, explain_page, explanation
from services.portal.web import (
    LINK_BUTTONS,
    LINK_DONE,
    SESSION_COOKIE,
    Portal,
    PortalOf,
    client_of,
    page,
    refusal_text,
)
from shared import action_links
from shared.action_links import ActionLink, LinkRefused
from shared.auth import (
    Account,
    get_account,
)

router = APIRouter()


async def _link(portal: Portal, request: Request, token: str) -> tuple[ActionLink, Account]:
    if portal.link_secret is None:
        raise LinkRefused("tampered")
    link = action_links.read(portal.link_secret, token, dt.datetime.now(dt.UTC))
    async with portal.pool.acquire() as conn:
        if await was_used(conn, link):
            raise LinkRefused("used")
        account = await get_account(conn, link.account_id)
        signed_in = await session_of(conn, request.cookies.get(SESSION_COOKIE))
    if account is None or account.disabled:
        raise LinkRefused("tampered")
    if signed_in is not None and signed_in.account.account_id != account.account_id:
        raise LinkRefused("elsewhere")  # the browser is someone else's: never act for two people in one
    return link, account


@router.get("/act/{token}", response_class=HTMLResponse)
async def action_link(portal: PortalOf, request: Request, token: Annotated[str, Path(max_length=2000)]) -> Response:
    link, account = await _link(portal, request, token)
    if link.purpose == "explain":
        return await explain_page(portal, None, link.fingerprint, None, 200, account, token)
    found = await portal.services.alert(account, link.fingerprint) if portal.services.alerts_served else None
    if found is None:
        raise LinkRefused("tampered")
    return page("act.html.j2", session=None, alert=found, account=account, token=token, done=None,
                button=LINK_BUTTONS[link.purpose])  # fmt: skip


@router.post("/act/{token}", response_class=HTMLResponse)
async def act_by_link(portal: PortalOf, request: Request, token: Annotated[str, Path(max_length=2000)]) -> Response:
    link, account = await _link(portal, request, token)
    body: dict[str, Any] = {}
    if link.purpose == "explain":
        try:
            body = explanation(await request.form())
        except ValueError as wrong:
            return await explain_page(portal, None, link.fingerprint, str(wrong), 422, account, token)
        found = (
            await portal.services.alert_as_answerer(account, link.fingerprint)
            if portal.services.alerts_served
            else None
        )
    else:
        found = await portal.services.alert(account, link.fingerprint) if portal.services.alerts_served else None
    if found is None:
        raise LinkRefused("tampered")
    async with portal.pool.acquire() as conn:
        use = conn.transaction()
        await use.start()
        try:
            if not await claim(conn, link, client_of(request)):
                raise LinkRefused("used")
            answer = await _act(portal, link, account, body)
            if answer is not None and answer.status >= 400 and link.purpose == "explain":
                await use.rollback()  # a refused explanation leaves the link for the corrected one
            else:
                await use.commit()  # the action is made: the link is spent, whatever the page shows next
        except BaseException:
            await use.rollback()
            raise
    if answer is not None and answer.status >= 400:
        if link.purpose == "explain":
            return await explain_page(portal, None, link.fingerprint, refusal_text(answer.body), answer.status,
                                       account, token)  # fmt: skip
        return page("refused.html.j2", answer.status, session=None, reason=refusal_text(answer.body))
    if link.purpose == "open":
        context = await alert_context(portal, account, link.fingerprint)
        assert context is not None
        return page("alert.html.j2", session=None, **context)
    done, next_page = LINK_DONE[link.purpose]
    return page("act.html.j2", session=None, alert=found, account=account, token=token, done=done,
                next_page=next_page.format(quote(link.fingerprint)), button="")  # fmt: skip


async def _act(portal: Portal, link: ActionLink, account: Account, body: dict[str, Any]) -> Answer | None:
    """The link's one action, for its person (the services check their role and scope again)."""
    if link.purpose == "explain":
        return await portal.services.alert_action(account, link.fingerprint, "explanation", body)
    if link.purpose == "acknowledge":
        note = {"note": "Tiếp nhận qua liên kết trong e-mail / acknowledged by the e-mail's link"}
        return await portal.services.alert_action(account, link.fingerprint, "ack", note)
    return None  # "open": reading is the purpose
