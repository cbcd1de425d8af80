"""The boards' HTTP API, served by the projector, the owner of every number in it: the monthly board pack
as PDF or HTML, for a board (or admin) token. A board token without units reads every group's pack; with
units, the packs of the groups whose members all lie within them."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Literal

import asyncpg
from fastapi import Depends, FastAPI, HTTPException, Query, Response, status
from fastapi_offline import FastAPIOffline

from services.projector.board_pack.make import board_pack_html
from services.projector.board_pack.render import render_pdf
from services.projector.progress import ProgressRules
from shared.api_errors import answer_invalid_requests, error_responses
from shared.auth import Principal, units_in_scope
from shared.events import FIRST_PLAN_YEAR, LAST_PLAN_YEAR, Indicator
from shared.http_auth import principal_with_role
from shared.resilience import answer_unavailable

PACK_ERRORS = error_responses(401, 403, 404, 422, 503)
HEALTH_ERRORS = error_responses(503)


Board = Annotated[
    Principal, Depends(principal_with_role("board", "admin", refusal="the board pack is for board (or admin) tokens"))
]


async def _groups_outside(conn: asyncpg.Connection, who: Principal, group: str | None) -> list[str]:
    """The groups asked for (one, or every group) with a member outside the token's units."""
    if who.is_admin or not who.units:
        return []
    scope = sorted(await units_in_scope(conn, who) or set())
    rows = await conn.fetch(
        "SELECT DISTINCT group_id FROM assessment_members WHERE ($1::text IS NULL OR group_id = $1)"
        " AND NOT unit_code = ANY($2::text[]) ORDER BY 1",
        group,
        scope,
    )
    return [r["group_id"] for r in rows]


def create_projector_app(pool: asyncpg.Pool, rules: ProgressRules) -> FastAPI:
    app = FastAPIOffline(title="PIM boards", version="1", description=__doc__)  # docs render offline
    answer_unavailable(app)
    answer_invalid_requests(app)
    app.state.pool = pool

    @app.get("/v1/board-pack", tags=["boards"], responses=PACK_ERRORS)
    async def board_pack(
        who: Board,
        as_of: Annotated[dt.date, Query(description="the figures as of this date (YYYY-MM-DD)")],
        known_on: Annotated[
            dt.date | None, Query(description="as known on this past meeting date, with what changed since")
        ] = None,
        group: Annotated[str | None, Query(description="one assessment group, e.g. national; default: all")] = None,
        indicator: Indicator = Indicator.DISBURSEMENT,
        plan_year: Annotated[
            int | None,
            Query(ge=FIRST_PLAN_YEAR, le=LAST_PLAN_YEAR, description="default: the newest open on `as_of`"),
        ] = None,
        output: Annotated[Literal["pdf", "html"], Query(alias="format")] = "pdf",
    ) -> Response:
        """The monthly board pack: the lists, a page per unit below the average, the answerable leaders'
        scorecards, and where every figure came from."""
        if known_on is not None and known_on > as_of:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"known_on {known_on} is after as_of {as_of}")
        async with pool.acquire() as conn:
            outside = await _groups_outside(conn, who, group)
            if outside and group is not None:
                raise HTTPException(status.HTTP_403_FORBIDDEN, f"group {group!r} has members outside your units")
            if outside:  # every group was asked for: those the token may read
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN, f"ask for one group of yours: {', '.join(outside)} reach outside it"
                )
            html = await board_pack_html(conn, as_of, indicator, group, known_on, rules, plan_year)
        if html is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no standings on or before {as_of}")
        name = f"pim-board-pack-{as_of}{f'-known-on-{known_on}' if known_on else ''}"
        if output == "html":
            return Response(html, media_type="text/html; charset=utf-8")
        return Response(
            await asyncio.to_thread(render_pdf, html),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
        )

    @app.get("/health", tags=["operations"], responses=HEALTH_ERRORS)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
