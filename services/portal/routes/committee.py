"""The inspection committee's pages: the alerts in its jurisdiction (overdue first), the month's digest,
an alert's page and its actions (acknowledge, silence, ask for an explanation, conclude)."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from services.portal.views import alert_context
from services.portal.web import (
    PortalOf,
    Posted,
    Signed,
    only,
    page,
    refusal_text,
)
from shared.display import SEVERITY_LABELS

router = APIRouter()


@router.get("/committee", response_class=HTMLResponse)
async def committee_inbox(
    portal: PortalOf,
    session: Signed,
    status_filter: Annotated[str, Query(alias="status")] = "open",
    severity: Annotated[str, Query(max_length=20)] = "",
    rule: Annotated[str, Query(max_length=100)] = "",
    unit: Annotated[str, Query(max_length=200)] = "",
    escalated: Annotated[bool, Query()] = False,
) -> Response:
    only(session, "committee", "admin")
    if status_filter not in ("open", "resolved", "all"):
        status_filter = "open"
    alerts = await portal.services.alerts(session.account, status_filter) if portal.services.alerts_served else []
    names = {u["unit_code"]: u["name"] for u in await portal.services.units(session.account)}
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
    served = portal.services.alerts_served
    return page("committee.html.j2", session=session, alerts=shown, counts=counts, filters=filters,
                rules=sorted({a["rule"] for a in alerts}), served=served, names=names)  # fmt: skip


@router.get("/committee/digest", response_class=HTMLResponse)
async def committee_digest(
    portal: PortalOf, session: Signed, month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None
) -> Response:
    """The month in the person's jurisdiction: opened, asked, explained, concluded, promises due, overdue."""
    only(session, "committee", "admin")
    month = month or f"{portal.today():%Y-%m}"
    counted = await portal.services.digest(session.account, month) if portal.services.alerts_served else None
    return page("digest.html.j2", session=session, month=month, digest=counted)


@router.get("/committee/alert", response_class=HTMLResponse)
async def alert_page(portal: PortalOf, session: Signed, fingerprint: Annotated[str, Query(max_length=500)]) -> Response:
    only(session, "committee", "admin")
    context = await alert_context(portal, session.account, fingerprint)
    if context is None:  # not there, or outside the person's jurisdiction: the same answer
        return page(
            "refused.html.j2",
            404,
            session=session,
            reason="Không có cảnh báo này trong phạm vi của bạn / no such alert in your jurisdiction",
        )
    return page("alert.html.j2", session=session, **context)


@router.post("/committee/alert", response_class=HTMLResponse)
async def alert_act(
    portal: PortalOf,
    session: Posted,
    fingerprint: Annotated[str, Form(max_length=500)],
    action: Annotated[str, Form(pattern="^(ack|silence|resolve|explanation-request)$")],
    text: Annotated[str, Form(max_length=4000)] = "",
    until: Annotated[str, Form(max_length=10)] = "",
    outcome: Annotated[str, Form(max_length=40)] = "",
    document: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    only(session, "committee", "admin")
    body: dict[str, dict[str, Any]] = {
        "ack": {"note": text},
        "silence": {"until": until, "reason": text},
        "resolve": {"conclusion": text, "outcome": outcome or None, "document": document},
        "explanation-request": {"note": text},
    }
    answer = await portal.services.alert_action(session.account, fingerprint, action, body[action])
    if answer.status >= 400:
        return page("refused.html.j2", answer.status, session=session, reason=refusal_text(answer.body))
    return RedirectResponse(f"/committee/alert?fingerprint={quote(fingerprint)}", status.HTTP_303_SEE_OTHER)
