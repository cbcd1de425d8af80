"""The alerts themselves: listed (a committee's, a head's, one with its history) and acted on
(acknowledged, silenced, resolved)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from services.alerts.outbox import dashboard_link
from services.alerts.queries import StatusFilter, alert_history, alert_review, list_alerts
from services.alerts.web import (
    ACTION_ERRORS,
    LIST_ERRORS,
    Acknowledge,
    AlertsOf,
    Committee,
    Head,
    Reader,
    Resolve,
    Silence,
    act,
)
from shared.auth import units_in_scope
from shared.text import TextParameter

router = APIRouter(tags=["alerts"])


@router.get("/v1/alerts", responses=LIST_ERRORS)
async def get_alerts(
    who: Reader,
    alerts: AlertsOf,
    committee: Annotated[TextParameter | None, Query(description="raised for or escalated to")] = None,
    alert_status: Annotated[StatusFilter, Query(alias="status")] = "open",
    unit: Annotated[TextParameter | None, Query(description="one unit's alerts")] = None,
) -> dict[str, Any]:
    async with alerts.pool.acquire() as conn:
        scope = await units_in_scope(conn, who)
        found = await list_alerts(conn, committee=committee, status=alert_status, unit_code=unit, scope=scope)
    linked = [
        alert | {"dashboard_url": dashboard_link(alerts.service.dashboard_url, alert["unit_code"])} for alert in found
    ]
    return {"count": len(linked), "alerts": linked}


@router.get("/v1/alerts/naming-me", responses=LIST_ERRORS)  # before the catch-all path below
async def alerts_naming_me(
    who: Head, alerts: AlertsOf, alert_status: Annotated[StatusFilter, Query(alias="status")] = "open"
) -> dict[str, Any]:
    """For the head of a unit (a person signed in through the portal): the alerts that name them as the one
    who answers, in any unit they held a post in."""
    if who.leader_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this account is bound to no leader record")
    async with alerts.pool.acquire() as conn:
        found = await list_alerts(conn, status=alert_status, leader_id=who.leader_id)
    return {"count": len(found), "alerts": found}


@router.get("/v1/alerts/{fingerprint:path}", responses=ACTION_ERRORS)
async def get_alert(fingerprint: str, who: Reader, alerts: AlertsOf) -> dict[str, Any]:
    """One alert of the token's jurisdiction, whatever its status (404 outside it, as for none), with its
    whole `history`: every event of its life, who took it, and the notifications each one made."""
    await alerts.in_scope(who, fingerprint)
    async with alerts.pool.acquire() as conn:
        (found,) = await list_alerts(conn, status="all", fingerprint=fingerprint)
        history = await alert_history(conn, fingerprint, found["unit_code"])
        review = await alert_review(conn, fingerprint)
    return found | {"dashboard_url": dashboard_link(alerts.service.dashboard_url, found["unit_code"]),
                    "history": history, **review}  # fmt: skip


@router.post("/v1/alerts/{fingerprint:path}/ack", responses=ACTION_ERRORS)
async def acknowledge(fingerprint: str, body: Acknowledge, who: Committee, alerts: AlertsOf) -> dict[str, Any]:
    await alerts.in_scope(who, fingerprint)
    return await act(fingerprint, alerts.service.acknowledge(fingerprint, who.name, body.note))


@router.post("/v1/alerts/{fingerprint:path}/silence", responses=ACTION_ERRORS)
async def silence(fingerprint: str, body: Silence, who: Committee, alerts: AlertsOf) -> dict[str, Any]:
    if body.until < alerts.service.clock():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"until {body.until} is in the past")
    await alerts.in_scope(who, fingerprint)
    return await act(fingerprint, alerts.service.silence(fingerprint, body.until, body.reason, who.name))


@router.post("/v1/alerts/{fingerprint:path}/resolve", responses=ACTION_ERRORS)
async def resolve(fingerprint: str, body: Resolve, who: Committee, alerts: AlertsOf) -> dict[str, Any]:
    await alerts.in_scope(who, fingerprint)
    return await act(
        fingerprint, alerts.service.resolve(fingerprint, who.name, body.conclusion, body.outcome, body.document)
    )
