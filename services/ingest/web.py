"""What the ingest API's routes share: the answers' models, the callers (any token, or an admin's), the error
statuses each kind of route documents, and the ingest's collaborators (its store, registry and figure
intake), handed to `ingest_api` (api.py; bootstrap.py wires the real ones), kept in `app.state` and read by
each route through `IngestOf`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol
from uuid import UUID

import asyncpg
from fastapi import Depends, Header, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from services.ingest.figure_intake import Intake, IntakeResult
from services.ingest.import_progress import NDJSON
from shared.api_errors import error_responses
from shared.auth import Principal
from shared.event_store import AppendResult, Submitter
from shared.events import DomainEvent
from shared.http_auth import Anyone
from shared.request_log import current_request_id, note_outcome


class EventIds(Protocol):
    async def event_ids(self, result: AppendResult) -> list[UUID]: ...


class RegistryFacts(Protocol):
    async def submit(self, events: Sequence[DomainEvent], submitter: Submitter) -> AppendResult: ...


@dataclass(frozen=True)
class Ingest:
    pool: asyncpg.Pool  # the reads the routes make themselves (templates, receipts, the registry's lists)
    store: EventIds  # `EventStore`
    registry: RegistryFacts  # `Registry`
    intake: Intake  # `FigureIntake`


async def ingest_of(request: Request) -> Ingest:
    ingest: Ingest = request.app.state.ingest
    return ingest


IngestOf = Annotated[Ingest, Depends(ingest_of)]

EVENT_IDS_UP_TO = 10_000
# The upload's body in OpenAPI: the file as it is, or a form with the field `file`.
_FILE = {"type": "string", "format": "binary"}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": _FILE},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": _FILE},
            "multipart/form-data": {"schema": {"type": "object", "properties": {"file": _FILE}, "required": ["file"]}},
        },
    }
}  # larger submissions answer with the position range only


class Accepted(BaseModel):
    first_position: int
    last_position: int
    count: int
    duplicate: bool
    event_ids: list[str] | None = Field(description="the events' ids; omitted above 10,000 events")


class ImportReport(BaseModel):
    rows: int
    stored: int
    rejected: int
    errors: list[dict[str, Any]]
    first_position: int | None
    last_position: int | None
    duplicate: bool


async def admin_principal(who: Anyone) -> Principal:
    if not who.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "registry and target changes need an admin token")
    return who


# The error statuses each kind of route answers with, documented in its OpenAPI in the one error shape.
WRITE_ERRORS = error_responses(401, 403, 409, 413, 415, 422, 503)
# Asked for with `Accept: application/x-ndjson` (services/ingest/import_progress.py).
PROGRESS_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": 'With `Accept: application/x-ndjson`: a line `{"progress": {"phase": "reading" |'
        ' "storing", "rows_read": n, "rows_total": n|null}}` every half second while the file is read, checked'
        ' and stored, then `{"status": code, "body": …}`, the status and body the request would otherwise get'
        " (the report, or the error shape)."
        " Without it: the file had been imported before, its report.",
        "content": {NDJSON: {"schema": {"type": "string"}}},
    }
}
READ_ERRORS = error_responses(401, 503)
QUERY_ERRORS = error_responses(401, 422, 503)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]
Admin = Annotated[Principal, Depends(admin_principal)]


def submitter(who: Principal, key: str | None, channel: str = "http") -> Submitter:
    return Submitter(who.name, channel, source=who.name if key else None, idempotency_key=key,
                     correlation_id=current_request_id())  # fmt: skip


async def accepted(ingest: Ingest, result: AppendResult, response: Response) -> Accepted:
    response.status_code = status.HTTP_200_OK if result.duplicate else status.HTTP_201_CREATED
    note_outcome(stored(result))
    ids = [str(i) for i in await ingest.store.event_ids(result)] if result.count <= EVENT_IDS_UP_TO else None
    return Accepted(
        first_position=result.first_position,
        last_position=result.last_position,
        count=result.count,
        duplicate=result.duplicate,
        event_ids=ids,
    )


async def registry_submit(
    ingest: Ingest, events: list[DomainEvent], who: Principal, key: str | None, response: Response
) -> Accepted:
    return await accepted(ingest, await ingest.registry.submit(events, submitter(who, key)), response)


def stored(append: AppendResult) -> str:
    where = f"positions {append.first_position}–{append.last_position}"
    return f"a repeat: stored before at {where}" if append.duplicate else f"stored {append.count} events at {where}"


def import_answer(result: IntakeResult) -> tuple[int, dict[str, Any]]:
    """An import's status and body: 201 with its report, 200 when the file had been imported before."""
    if result.append is not None:
        note_outcome(f"{result.rows} rows, {result.rejected} rejected; {stored(result.append)}")
    code = status.HTTP_200_OK if result.duplicate else status.HTTP_201_CREATED
    return code, json.loads(_import_report(result).model_dump_json())


def _import_report(result: IntakeResult) -> ImportReport:
    append = result.append
    return ImportReport(
        rows=result.rows,
        stored=result.stored,
        rejected=result.rejected,
        errors=[e.as_dict() for e in result.errors],
        first_position=append.first_position if append else None,
        last_position=append.last_position if append else None,
        duplicate=result.duplicate,
    )
