"""What the committees' API routes share: the request bodies, the callers each kind of route admits, the error
statuses they document, and the alerts service's collaborators, handed in by `create_alerts_app` (api.py)
through `app.state` and read by each route through `AlertsOf`."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import ConfigDict, Field, ValidationError

from services.alerts.queries import in_jurisdiction
from services.alerts.service import AlertClosed, AlertNotFound, AlertsService, ReviewRefused
from shared.api_errors import error_responses
from shared.auth import Principal, units_in_scope
from shared.events import Commitment, ConclusionOutcome, DomainEvent, FactDate
from shared.http_auth import principal_with_role
from shared.request_log import note_outcome
from shared.text import TextModel, text_problem


@dataclass(frozen=True)
class Alerts:
    pool: asyncpg.Pool
    service: AlertsService

    async def in_scope(self, who: Principal, fingerprint: str) -> None:
        """404 unless the alert is in `who`'s jurisdiction: the same answer for "no such alert" and "not
        yours", so a token learns nothing outside its scope."""
        if text_problem(fingerprint) is not None:  # no alert has it; the database could not even compare it
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert in your jurisdiction")
        async with self.pool.acquire() as conn:
            allowed = await in_jurisdiction(conn, fingerprint, await units_in_scope(conn, who))
        if not allowed:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {fingerprint} in your jurisdiction")


async def alerts_of(request: Request) -> Alerts:
    alerts: Alerts = request.app.state.alerts
    return alerts


AlertsOf = Annotated[Alerts, Depends(alerts_of)]


async def act(fingerprint: str, action: Awaitable[DomainEvent]) -> dict[str, Any]:
    """The event an action on an alert recorded, or the refusal as HTTP (404, 409, 422)."""
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
