"""The committees' HTTP API: list alerts, and acknowledge, silence or resolve them. A committee token sees
and acts on the alerts of the units in its jurisdiction (its units and all below); an admin token on all."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from pydantic import ConfigDict, Field, ValidationError

from services.alerts.outbox import dashboard_link
from services.alerts.queries import (
    StatusFilter,
    alert_history,
    alert_review,
    in_jurisdiction,
    list_alerts,
    monthly_digest,
)
from services.alerts.service import AlertClosed, AlertNotFound, AlertsService, ReviewRefused
from shared.api_errors import answer_invalid_requests, error_responses
from shared.auth import Principal, units_in_scope
from shared.events import Commitment, ConclusionOutcome, FactDate
from shared.http_auth import Anyone, principal_with_role
from shared.request_limits import JsonBodyLimits
from shared.request_log import RequestLog, note_outcome
from shared.resilience import answer_unavailable
from shared.text import TextModel, TextParameter, text_problem


class Acknowledge(TextModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, Field(max_length=2000)] = ""


class Silence(TextModel):
    model_config = ConfigDict(extra="forbid")
    until: FactDate
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class Resolve(TextModel):
    model_config = ConfigDict(extra="forbid")
    conclusion: Annotated[str, Field(min_length=1, max_length=4000, description="the committee's conclusion")]
    outcome: ConclusionOutcome | None = Field(
        default=None, description="no_fault | reminder | criticism | self_criticism | discipline_recommended"
    )
    document: Annotated[str, Field(max_length=200, description="the conclusion's document number")] = ""


class RequestExplanation(TextModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, Field(max_length=2000)] = ""
    due: FactDate | None = Field(default=None, description="default: the rules file's working days from today")


class Explain(TextModel):
    model_config = ConfigDict(extra="forbid")
    causes: Annotated[list[str], Field(min_length=1, max_length=10, description="codes of GET /v1/review/causes")]
    text: Annotated[str, Field(min_length=1, max_length=4000)]
    document: Annotated[str, Field(max_length=200)] = ""
    commitments: Annotated[list[Commitment], Field(max_length=10)] = Field(default_factory=list)


# The error statuses each route answers with, documented in its OpenAPI in the one error shape.
LIST_ERRORS = error_responses(401, 403, 422, 503)
ACTION_ERRORS = error_responses(401, 403, 404, 409, 413, 415, 422, 503)
HEALTH_ERRORS = error_responses(503)


Committee = Annotated[
    Principal, Depends(principal_with_role("committee", "admin", refusal="alerts are for committee (or admin) tokens"))
]


Reader = Annotated[  # reading alerts: committees, admins, and a finance department for its own units
    Principal,
    Depends(principal_with_role("committee", "admin", "department", refusal="alerts are read by committees and"
                                " admins, and by a finance department for its units")),
]  # fmt: skip
Head = Annotated[Principal, Depends(principal_with_role("head", refusal="for the head of a unit, signed in"))]
Answerer = Annotated[
    Principal,
    Depends(principal_with_role("head", "department", refusal="for the head asked, or their unit's clerk")),
]


def create_alerts_app(pool: asyncpg.Pool, service: AlertsService) -> FastAPI:
    app = FastAPIOffline(title="PIM alerts", version="1", description=__doc__)  # docs render offline
    answer_unavailable(app)
    answer_invalid_requests(app)
    app.add_middleware(JsonBodyLimits)
    app.add_middleware(RequestLog, service="alerts")  # outermost: it sees every answer
    app.state.pool = pool

    async def in_scope(who: Principal, fingerprint: str) -> None:
        if text_problem(fingerprint) is not None:  # no alert has it; the database could not even compare it
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert in your jurisdiction")
        async with pool.acquire() as conn:
            allowed = await in_jurisdiction(conn, fingerprint, await units_in_scope(conn, who))
        if not allowed:
            # the same answer for "no such alert" and "not yours": a token learns nothing outside its scope
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {fingerprint} in your jurisdiction")

    async def act(fingerprint: str, action: Any) -> dict[str, Any]:
        try:
            event = await action
        except AlertNotFound:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {fingerprint}") from None
        except AlertClosed as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
        except ReviewRefused as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
        except ValidationError as refused:  # what the request's model let through and the event does not: 422
            raise RequestValidationError(refused.errors()) from None
        note_outcome(f"{type(event).__name__} {fingerprint}")
        return {"event": event.model_dump(mode="json")}

    @app.get("/v1/alerts", tags=["alerts"], responses=LIST_ERRORS)
    async def get_alerts(
        who: Reader,
        committee: Annotated[TextParameter | None, Query(description="raised for or escalated to")] = None,
        alert_status: Annotated[StatusFilter, Query(alias="status")] = "open",
        unit: Annotated[TextParameter | None, Query(description="one unit's alerts")] = None,
    ) -> dict[str, Any]:
        async with pool.acquire() as conn:
            scope = await units_in_scope(conn, who)
            found = await list_alerts(conn, committee=committee, status=alert_status, unit_code=unit, scope=scope)
        linked = [
            alert | {"dashboard_url": dashboard_link(service.dashboard_url, alert["unit_code"])} for alert in found
        ]
        return {"count": len(linked), "alerts": linked}

    @app.get("/v1/alerts/naming-me", tags=["alerts"], responses=LIST_ERRORS)
    async def alerts_naming_me(
        who: Head, alert_status: Annotated[StatusFilter, Query(alias="status")] = "open"
    ) -> dict[str, Any]:
        """For the head of a unit (a person signed in through the portal): the alerts that name them as the one
        who answers, in any unit they held a post in."""
        if who.leader_id is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this account is bound to no leader record")
        async with pool.acquire() as conn:
            found = await list_alerts(conn, status=alert_status, leader_id=who.leader_id)
        return {"count": len(found), "alerts": found}

    @app.get("/v1/alerts/{fingerprint:path}", tags=["alerts"], responses=ACTION_ERRORS)
    async def get_alert(fingerprint: str, who: Reader) -> dict[str, Any]:
        """One alert of the token's jurisdiction, whatever its status (404 outside it, as for none), with its
        whole `history`: every event of its life, who took it, and the notifications each one made."""
        await in_scope(who, fingerprint)
        async with pool.acquire() as conn:
            (found,) = await list_alerts(conn, status="all", fingerprint=fingerprint)
            history = await alert_history(conn, fingerprint, found["unit_code"])
            review = await alert_review(conn, fingerprint)
        return found | {"dashboard_url": dashboard_link(service.dashboard_url, found["unit_code"]), "history": history,
                        **review}  # fmt: skip

    @app.post("/v1/alerts/{fingerprint:path}/ack", tags=["alerts"], responses=ACTION_ERRORS)
    async def acknowledge(fingerprint: str, body: Acknowledge, who: Committee) -> dict[str, Any]:
        await in_scope(who, fingerprint)
        return await act(fingerprint, service.acknowledge(fingerprint, who.name, body.note))

    @app.post("/v1/alerts/{fingerprint:path}/silence", tags=["alerts"], responses=ACTION_ERRORS)
    async def silence(fingerprint: str, body: Silence, who: Committee) -> dict[str, Any]:
        if body.until < service.clock():
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"until {body.until} is in the past")
        await in_scope(who, fingerprint)
        return await act(fingerprint, service.silence(fingerprint, body.until, body.reason, who.name))

    @app.post("/v1/alerts/{fingerprint:path}/resolve", tags=["alerts"], responses=ACTION_ERRORS)
    async def resolve(fingerprint: str, body: Resolve, who: Committee) -> dict[str, Any]:
        await in_scope(who, fingerprint)
        return await act(
            fingerprint, service.resolve(fingerprint, who.name, body.conclusion, body.outcome, body.document)
        )

    @app.post("/v1/alerts/{fingerprint:path}/explanation-request", tags=["review"], responses=ACTION_ERRORS)
    async def request_explanation(fingerprint: str, body: RequestExplanation, who: Committee) -> dict[str, Any]:
        """Ask the head the alert names as answerable (or the deputy in charge) to explain it, by a date in
        Vietnam's working days (default: the rules file's `review.explanation_working_days` from today)."""
        await in_scope(who, fingerprint)
        return await act(fingerprint, service.request_explanation(fingerprint, who.name, body.note, body.due))

    @app.post("/v1/alerts/{fingerprint:path}/explanation", tags=["review"], responses=ACTION_ERRORS)
    async def explain(fingerprint: str, body: Explain, who: Answerer) -> dict[str, Any]:
        """The explanation asked for: by the head asked (signed in), or by their unit's clerk on their behalf
        (recorded as such) — causes from `GET /v1/review/causes`, text, a document, commitments (a rate or an
        amount per indicator by a date, which the figures will find kept or missed). Anyone else's alert is
        answered as one that does not exist."""
        on_behalf = who.role == "department"
        if on_behalf:
            await in_scope(who, fingerprint)
        return await act(fingerprint, service.submit_explanation(
            fingerprint, who.name, who.leader_id, on_behalf, body.causes, body.text, body.document, body.commitments,
        ))  # fmt: skip

    @app.get("/v1/review/digest", tags=["review"], responses=LIST_ERRORS)
    async def digest(
        who: Committee, month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
    ) -> dict[str, Any]:
        """A committee's month in its jurisdiction: alerts opened, explanations asked and given, reviews
        concluded (with fault), promises due (kept, missed), and what is overdue today — by the day each
        step was recorded."""
        first = dt.date.fromisoformat(f"{month}-01")
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        async with pool.acquire() as conn:
            return await monthly_digest(conn, first, last, service.clock(), await units_in_scope(conn, who))

    @app.get("/v1/review/rules", tags=["review"], responses=LIST_ERRORS)
    async def review_rules(_: Anyone) -> dict[str, Any]:
        """The review's rules as the rules file sets them: the working days an explanation may take, and the
        causes it may name (code → "Vietnamese / English")."""
        review = service.config.review
        return {"explanation_working_days": review.explanation_working_days, "causes": dict(review.causes)}

    @app.get("/v1/review/causes", tags=["review"], responses=LIST_ERRORS)
    async def causes(_: Anyone) -> dict[str, str]:
        """The causes an explanation may name: code → "Vietnamese / English" (the rules file's taxonomy)."""
        return dict(service.config.review.causes)

    @app.get("/health", tags=["operations"], responses=HEALTH_ERRORS)
    async def health() -> dict[str, str]:
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
        return {"status": "ok"}

    return app
