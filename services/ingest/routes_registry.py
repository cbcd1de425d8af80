"""The registry's routes: units, mergers and dissolutions, tenures and departures, votes, categories and
plans (an admin's), and the units a caller acts for."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from services.ingest.errors import RowError, SubmissionRejected
from services.ingest.registry import registry_categories, registry_category_names, units_with_names
from services.ingest.submissions import (
    CategoriesSubmission,
    DeparturesSubmission,
    MergersSubmission,
    TargetsSubmission,
    TenuresSubmission,
    UnitsSubmission,
    VotesSubmission,
)
from services.ingest.web import (
    QUERY_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    Accepted,
    Admin,
    IdempotencyKey,
    IngestOf,
    registry_submit,
)
from shared.auth import units_in_scope
from shared.events import DomainEvent
from shared.http_auth import Anyone

router = APIRouter()


@router.post("/v1/units", status_code=201, tags=["registry"], responses=WRITE_ERRORS)
async def register_units(
    ingest: IngestOf, body: UnitsSubmission, response: Response, who: Admin, key: IdempotencyKey = None
) -> Accepted:
    return await registry_submit(ingest, list(body.units), who, key, response)


@router.post("/v1/mergers", status_code=201, tags=["registry"], responses=WRITE_ERRORS)
async def merge_units(
    ingest: IngestOf, body: MergersSubmission, response: Response, who: Admin, key: IdempotencyKey = None
) -> Accepted:
    """Units merged into one (`mergers`), or dissolved with their plan and year to date handed to several
    receivers in stated amounts (`dissolutions`)."""
    events: list[DomainEvent] = [*body.mergers, *body.dissolutions]
    if not events:
        raise SubmissionRejected([RowError(None, "mergers", None, "the submission holds no merger or dissolution")])
    return await registry_submit(ingest, events, who, key, response)


@router.post("/v1/tenures", status_code=201, tags=["registry"], responses=WRITE_ERRORS)
async def record_tenures(
    ingest: IngestOf, body: TenuresSubmission, response: Response, who: Admin, key: IdempotencyKey = None
) -> Accepted:
    return await registry_submit(ingest, [e for t in body.tenures for e in t.events()], who, key, response)


@router.post("/v1/departures", status_code=201, tags=["registry"], responses=WRITE_ERRORS)
async def record_departures(
    ingest: IngestOf, body: DeparturesSubmission, response: Response, who: Admin, key: IdempotencyKey = None
) -> Accepted:
    return await registry_submit(ingest, list(body.departures), who, key, response)


@router.post("/v1/votes", status_code=201, tags=["registry"], responses=WRITE_ERRORS)
async def record_votes(
    ingest: IngestOf, body: VotesSubmission, response: Response, who: Admin, key: IdempotencyKey = None
) -> Accepted:
    return await registry_submit(ingest, list(body.votes), who, key, response)


@router.post("/v1/categories", status_code=201, tags=["registry"], responses=WRITE_ERRORS)
async def declare_categories(
    ingest: IngestOf, body: CategoriesSubmission, response: Response, who: Admin, key: IdempotencyKey = None
) -> Accepted:
    """Add capital sources or revenue categories to the registry (the Ministry's classification is
    there from the start)."""
    return await registry_submit(ingest, list(body.categories), who, key, response)


@router.get("/v1/categories", tags=["registry"], responses=QUERY_ERRORS)
async def list_categories(
    ingest: IngestOf, _: Anyone, labelled: Annotated[bool, Query(description="each code with its label")] = False
) -> dict[str, Any]:
    """The codes a figure's category may take, per indicator; with `labelled`, per indicator a list of
    `{"code", "name"}` (the label Vietnamese first, English beside), as a drop-down shows them."""
    async with ingest.pool.acquire() as conn:
        if labelled:
            named = await registry_category_names(conn)
            return {i.value: [{"code": c, "name": n} for c, n in sorted(codes.items())] for i, codes in named.items()}
        known = await registry_categories(conn)
    return {indicator.value: sorted(codes) for indicator, codes in known.items()}


@router.post("/v1/targets", status_code=201, tags=["targets"], responses=WRITE_ERRORS)
async def set_targets(
    ingest: IngestOf, body: TargetsSubmission, response: Response, who: Admin, key: IdempotencyKey = None
) -> Accepted:
    events: list[DomainEvent] = [*body.targets, *body.adjustments, *body.milestones]
    if not events:
        raise SubmissionRejected([RowError(None, "targets", None, "the submission holds no targets")])
    return await registry_submit(ingest, events, who, key, response)


@router.get("/v1/units", tags=["registry"], responses=READ_ERRORS)
async def get_units(ingest: IngestOf, who: Anyone) -> JSONResponse:
    """The units the caller acts for (with everything below them; every unit for an admin or a scope of
    the whole country), not merged or dissolved away: code and name, by code."""
    async with ingest.pool.acquire() as conn:
        units = await units_with_names(conn, await units_in_scope(conn, who))
    return JSONResponse({"units": [{"unit_code": code, "name": name} for code, name in units]})
