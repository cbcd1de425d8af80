"""The ingest HTTP API: finance departments and registry clerks submit facts as JSON.

Each request is one submission: its events are stored together or not at all. An `Idempotency-Key`
header makes re-sending safe: the same key returns the original events (200), the same key with other
content is refused (409).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated
from uuid import UUID

from fastapi import FastAPI, Header, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field

from shared.event_store import EventStore, IdempotencyConflict
from shared.events import (
    DisbursementReported,
    DomainEvent,
    LeaderAppointed,
    LeaderLeft,
    RevenueReported,
    TargetSet,
    UnitRegistered,
)

CHANNEL = "http"
MAX_ITEMS = 10_000


class Submission(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnitsSubmission(Submission):
    units: Annotated[list[UnitRegistered], Field(min_length=1, max_length=MAX_ITEMS)]


class AppointmentsSubmission(Submission):
    appointments: Annotated[list[LeaderAppointed], Field(min_length=1, max_length=MAX_ITEMS)]


class DeparturesSubmission(Submission):
    departures: Annotated[list[LeaderLeft], Field(min_length=1, max_length=MAX_ITEMS)]


class TargetsSubmission(Submission):
    targets: Annotated[list[TargetSet], Field(min_length=1, max_length=MAX_ITEMS)]


class FiguresSubmission(Submission):
    disbursements: Annotated[list[DisbursementReported], Field(max_length=MAX_ITEMS)] = []
    revenues: Annotated[list[RevenueReported], Field(max_length=MAX_ITEMS)] = []


class Accepted(BaseModel):
    event_ids: list[UUID]
    positions: list[int]
    duplicate: bool


SubmittedBy = Annotated[str, Header(alias="X-PIM-Submitted-By", min_length=1, max_length=200)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


def create_app(store: EventStore) -> FastAPI:
    app = FastAPI(title="PIM ingest", version="1")

    async def submit(
        events: Sequence[DomainEvent], submitted_by: str, idempotency_key: str | None, response: Response
    ) -> Accepted:
        if not events:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the submission holds no facts")
        try:
            result = await store.append(
                events,
                submitted_by=submitted_by,
                channel=CHANNEL,
                source=submitted_by if idempotency_key else None,
                idempotency_key=idempotency_key,
            )
        except IdempotencyConflict as conflict:
            raise HTTPException(status.HTTP_409_CONFLICT, str(conflict)) from conflict
        response.status_code = status.HTTP_200_OK if result.duplicate else status.HTTP_201_CREATED
        return Accepted(event_ids=result.event_ids, positions=result.positions, duplicate=result.duplicate)

    @app.post("/v1/units", response_model=Accepted, status_code=201)
    async def register_units(
        body: UnitsSubmission,
        response: Response,
        submitted_by: SubmittedBy,
        idempotency_key: IdempotencyKey = None,
    ) -> Accepted:
        return await submit(body.units, submitted_by, idempotency_key, response)

    @app.post("/v1/appointments", response_model=Accepted, status_code=201)
    async def appoint_leaders(
        body: AppointmentsSubmission,
        response: Response,
        submitted_by: SubmittedBy,
        idempotency_key: IdempotencyKey = None,
    ) -> Accepted:
        return await submit(body.appointments, submitted_by, idempotency_key, response)

    @app.post("/v1/departures", response_model=Accepted, status_code=201)
    async def record_departures(
        body: DeparturesSubmission,
        response: Response,
        submitted_by: SubmittedBy,
        idempotency_key: IdempotencyKey = None,
    ) -> Accepted:
        return await submit(body.departures, submitted_by, idempotency_key, response)

    @app.post("/v1/targets", response_model=Accepted, status_code=201)
    async def set_targets(
        body: TargetsSubmission,
        response: Response,
        submitted_by: SubmittedBy,
        idempotency_key: IdempotencyKey = None,
    ) -> Accepted:
        return await submit(body.targets, submitted_by, idempotency_key, response)

    @app.post("/v1/figures", response_model=Accepted, status_code=201)
    async def report_figures(
        body: FiguresSubmission,
        response: Response,
        submitted_by: SubmittedBy,
        idempotency_key: IdempotencyKey = None,
    ) -> Accepted:
        return await submit([*body.disbursements, *body.revenues], submitted_by, idempotency_key, response)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
