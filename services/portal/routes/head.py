"""The head of a unit's pages: the alerts that name them, their units' standing and scores, and the
explanation the committee asked of them."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from services.portal.views import explain_page, explanation, units_view
from services.portal.web import (
    PortalOf,
    Posted,
    Signed,
    only,
    page,
    refusal_text,
)

router = APIRouter()


@router.get("/head", response_class=HTMLResponse)
async def head_home(portal: PortalOf, session: Signed) -> Response:
    """The head of a unit: the alerts that name them, and their units' standing."""
    only(session, "head")
    alerts = await portal.services.alerts_naming(session.account) if portal.services.alerts_served else []
    view = await units_view(portal.services, session, portal.today())
    leader = await portal.services.leader(session.account, session.account.leader_id or "")
    leader_names = {u["unit_code"]: u["name"] for u in view["units"]}
    scores = None
    if leader is not None:
        year = max((y["plan_year"] for y in leader["years"]), default=portal.today().year)
        scores = await portal.services.scores(session.account, session.account.leader_id or "", year)
    return page("head.html.j2", session=session, alerts=alerts, leader=leader, leader_names=leader_names,
                scores=scores, **view)  # fmt: skip


@router.get("/head/explain", response_class=HTMLResponse)
async def explanation_form(
    portal: PortalOf, session: Signed, fingerprint: Annotated[str, Query(max_length=500)]
) -> Response:
    """The explanation the committee asked of this head: the alert, its evidence, and the form."""
    only(session, "head", "clerk")
    return await explain_page(portal, session, fingerprint, None, 200)


@router.post("/head/explain", response_class=HTMLResponse)
async def explain(portal: PortalOf, request: Request, session: Posted) -> Response:
    """Causes (ticked), the text, a document, and up to three commitments (indicator, date, rate in %)."""
    only(session, "head", "clerk")
    form = await request.form()
    fingerprint = str(form.get("fingerprint", ""))[:500]
    try:
        body = explanation(form)
    except ValueError as wrong:
        return await explain_page(portal, session, fingerprint, str(wrong), 422)
    answer = await portal.services.alert_action(session.account, fingerprint, "explanation", body)
    if answer.status >= 400:
        return await explain_page(portal, session, fingerprint, refusal_text(answer.body), answer.status)
    return RedirectResponse("/head" if session.account.role == "head" else "/clerk", status.HTTP_303_SEE_OTHER)
