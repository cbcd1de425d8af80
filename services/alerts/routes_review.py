"""The review loop: an explanation asked of the head an alert names and given (by them, or their unit's
clerk on their behalf), a committee's month, and the review's rules."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.alerts.queries import monthly_digest
from services.alerts.web import (
    ACTION_ERRORS,
    LIST_ERRORS,
    AlertsOf,
    Answerer,
    Committee,
    Explain,
    RequestExplanation,
    act,
)
from shared.auth import units_in_scope
from shared.http_auth import Anyone

router = APIRouter(tags=["review"])


@router.post("/v1/alerts/{fingerprint:path}/explanation-request", responses=ACTION_ERRORS)
async def request_explanation(
    fingerprint: str, body: RequestExplanation, who: Committee, alerts: AlertsOf
) -> dict[str, Any]:
    """Ask the head the alert names as answerable (or the deputy in charge) to explain it, by a date in
    Vietnam's working days (default: the rules file's `review.explanation_working_days` from today)."""
    await alerts.in_scope(who, fingerprint)
    return await act(fingerprint, alerts.service.request_explanation(fingerprint, who.name, body.note, body.due))


@router.post("/v1/alerts/{fingerprint:path}/explanation", responses=ACTION_ERRORS)
async def explain(fingerprint: str, body: Explain, who: Answerer, alerts: AlertsOf) -> dict[str, Any]:
    """The explanation asked for: by the head asked (signed in), or by their unit's clerk on their behalf
    (recorded as such) — causes from `GET /v1/review/causes`, text, a document, commitments (a rate or an
    amount per indicator by a date, which the figures will find kept or missed). Anyone else's alert is
    answered as one that does not exist."""
    on_behalf = who.role == "department"
    if on_behalf:
        await alerts.in_scope(who, fingerprint)
    return await act(fingerprint, alerts.service.submit_explanation(
        fingerprint, who.name, who.leader_id, on_behalf, body.causes, body.text, body.document, body.commitments,
    ))  # fmt: skip


@router.get("/v1/review/digest", responses=LIST_ERRORS)
async def digest(
    who: Committee,
    alerts: AlertsOf,
    month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")],
) -> dict[str, Any]:
    """A committee's month in its jurisdiction: alerts opened, explanations asked and given, reviews
    concluded (with fault), promises due (kept, missed), and what is overdue today — by the day each
    step was recorded."""
    first = dt.date.fromisoformat(f"{month}-01")
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    async with alerts.pool.acquire() as conn:
        return await monthly_digest(conn, first, last, alerts.service.clock(), await units_in_scope(conn, who))


@router.get("/v1/review/rules", responses=LIST_ERRORS)
async def review_rules(_: Anyone, alerts: AlertsOf) -> dict[str, Any]:
    """The review's rules as the rules file sets them: the working days an explanation may take, and the
    causes it may name (code → "Vietnamese / English")."""
    review = alerts.service.config.review
    return {"explanation_working_days": review.explanation_working_days, "causes": dict(review.causes)}


@router.get("/v1/review/causes", responses=LIST_ERRORS)
async def causes(_: Anyone, alerts: AlertsOf) -> dict[str, str]:
    """The causes an explanation may name: code → "Vietnamese / English" (the rules file's taxonomy)."""
    return dict(alerts.service.config.review.causes)
