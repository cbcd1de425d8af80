"""The projector's numbers over HTTP, served by their owner: the Ministry-style lists, reporting on time, a
unit's plan year, the registry as the projector dates it, and a leader's scorecard. Any token (each
answer cut to its scope); included in the boards' API (api.py)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi import Path as InPath
from fastapi.responses import JSONResponse

from services.projector.reporting_on_time import reporting, reporting_json
from services.projector.standings import plan_years_on, standings, standings_json
from services.projector.unit_record import leader_record, registry_as_of, unit_year
from shared.api_errors import error_responses
from shared.auth import units_in_scope
from shared.events import CODE_MAX_LENGTH, FIRST_PLAN_YEAR, LAST_PLAN_YEAR, UNIT_CODE_PATTERN, Indicator
from shared.http_auth import Anyone

QUERY_ERRORS = error_responses(401, 422, 503)
UNIT_ERRORS = error_responses(401, 404, 422, 503)

GroupQuery = Annotated[str | None, Query(description="one assessment group, e.g. national")]
OpenPlanYears = Annotated[
    int | None,
    Query(
        ge=FIRST_PLAN_YEAR,
        le=LAST_PLAN_YEAR,
        description="default: every plan year open on `as_of` (two in January for disbursement)",
    ),
]
router = APIRouter()


async def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


Pool = Annotated[asyncpg.Pool, Depends(_pool)]


async def _years(conn: asyncpg.Connection, plan_year: int | None, indicator: Indicator, as_of: dt.date) -> list[int]:
    """The plan year asked for, else every plan year open on `as_of`, newest first."""
    return [plan_year] if plan_year else await plan_years_on(conn, indicator.value, as_of)


@router.get("/v1/standings", tags=["standings"], responses=QUERY_ERRORS)
async def get_standings(
    _: Anyone,
    pool: Pool,
    as_of: Annotated[dt.date, Query(description="the lists as of this date (YYYY-MM-DD)")],
    group: GroupQuery = None,
    indicator: Indicator = Indicator.DISBURSEMENT,
    plan_year: OpenPlanYears = None,
) -> JSONResponse:
    """The Ministry-style lists the projector keeps: per assessment group, on its latest date on or
    before `as_of`, the weighted average, the counts, and the units at or above, below and not assessed,
    each with its rate and rank. Money and rates are exact decimal strings. Without `plan_year`, every
    plan year open on `as_of`, newest first (`plan_years`; each group names its `plan_year`): in
    January the previous year's disbursement is measured for the last time while the new year's has
    begun. `plan_year` is the newest of them."""
    async with pool.acquire() as conn:
        years = await _years(conn, plan_year, indicator, as_of)
        groups = [g for year in years for g in await standings(conn, as_of, indicator.value, year, group)]
    if group is not None and not groups:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no standings of group {group!r} on or before {as_of}")
    return JSONResponse({"as_of": as_of.isoformat(), "indicator": indicator.value,
                         "plan_year": years[0] if years else None, "plan_years": years,
                         "groups": standings_json(groups)})  # fmt: skip


@router.get("/v1/reporting", tags=["standings"], responses=QUERY_ERRORS)
async def get_reporting(
    _: Anyone,
    pool: Pool,
    as_of: Annotated[dt.date, Query(description="the record as of this date (YYYY-MM-DD)")],
    group: GroupQuery = None,
    indicator: Indicator = Indicator.DISBURSEMENT,
    plan_year: OpenPlanYears = None,
) -> JSONResponse:
    """Reporting on time (báo cáo đúng hạn), an indicator of its own: per assessment group as of
    `as_of`, each member's monthly reports due by then (`expected`: a month is due `report_due_days`
    after it ends), `received`, received by the due day (`on_time`), `late`, `missing`, its rate (on time
    / due) and rank, and the group's rate. "No report", "late" and "lagging" are different things."""
    async with pool.acquire() as conn:
        years = await _years(conn, plan_year, indicator, as_of)
        groups = [g for year in years for g in await reporting(conn, as_of, indicator.value, year, group)]
    if group is not None and not groups:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no reports due in group {group!r} by {as_of}")
    return JSONResponse({"as_of": as_of.isoformat(), "indicator": indicator.value,
                         "plan_years": years, "groups": reporting_json(groups)})  # fmt: skip


@router.get("/v1/units/{unit_code}/progress", tags=["standings"], responses=UNIT_ERRORS)
async def get_unit_progress(
    who: Anyone,
    pool: Pool,
    unit_code: Annotated[str, InPath(max_length=CODE_MAX_LENGTH, pattern=UNIT_CODE_PATTERN)],
    as_of: Annotated[dt.date, Query(description="the year up to this date (YYYY-MM-DD)")],
    plan_year: Annotated[int, Query(ge=FIRST_PLAN_YEAR, le=LAST_PLAN_YEAR)],
    indicator: Indicator = Indicator.DISBURSEMENT,
) -> JSONResponse:
    """One unit's plan year as the projector keeps it, up to `as_of`: on each date it reported, its plan,
    actual, rate, the pace expected by then, status, and standing against its group's average (`months`);
    and who answered for it (the head, or the deputy in charge) from when to when, with the months behind
    (`stints`). A unit outside the caller's scope is answered as one that does not exist."""
    async with pool.acquire() as conn:
        scope = await units_in_scope(conn, who)
        if scope is not None and unit_code not in scope:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no unit {unit_code!r} in your scope")
        year = await unit_year(conn, unit_code, indicator.value, plan_year, as_of)
    return JSONResponse(year)


@router.get("/v1/registry", tags=["registry"], responses=QUERY_ERRORS)
async def get_registry(
    who: Anyone, pool: Pool, as_of: Annotated[dt.date, Query(description="the registry as it stood on this date")]
) -> JSONResponse:
    """The unit registry as it stood on `as_of`, as the projector dates it: each unit of the caller's
    scope with its name, level, parent and committee on that day, since when, its head in post, and
    whether it had been merged (`merged_into`) or dissolved by then (`gone_on`)."""
    async with pool.acquire() as conn:
        units = await registry_as_of(conn, as_of, await units_in_scope(conn, who))
    return JSONResponse({"as_of": as_of.isoformat(), "units": units})


@router.get("/v1/leaders/{leader_id}", tags=["standings"], responses=UNIT_ERRORS)
async def get_leader(
    who: Anyone, pool: Pool, leader_id: Annotated[str, InPath(min_length=1, max_length=CODE_MAX_LENGTH * 2)]
) -> JSONResponse:
    """A leader's scorecard: per plan year the stints answered for and the months behind the pace, and
    every stint (unit, indicator, from, to, rates, gap that arose). For boards, committees and admins;
    the head of a unit reads their own only (others are answered as none)."""
    if (who.role == "head" and who.leader_id != leader_id) or who.role in ("department", "portal"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no leader {leader_id!r} you may read")
    async with pool.acquire() as conn:
        record = await leader_record(conn, leader_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no leader {leader_id!r} answerable for any unit")
    return JSONResponse(record)
