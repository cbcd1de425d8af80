"""The boards' HTTP API, served by the projector, the owner of every number in it: the monthly board pack
as PDF or HTML, for a board (or admin) token. A board token without units reads every group's pack; with
units, the packs of the groups whose members all lie within them. And the heads' scores (Quy định 366):
a period's for every person answerable within the reader's units, or one person's periods of a year — for a
board, a committee or an admin, and for a head their own. And, for any token within its scope, the numbers
the portal's pages and the machines read: the lists, reporting on time, a unit's year, the dated registry, a
leader's scorecard (standings_api.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Response, status
from fastapi_offline import FastAPIOffline

from services.projector.board_pack.make import board_pack_html
from services.projector.board_pack.render import render_pdf
from services.projector.head_score_inputs import head_scores
from services.projector.head_scores import HeadScore, Period, periods_of
from services.projector.progress_rules import ProgressRules
from services.projector.standings_api import router as standings_router
from shared.api_errors import answer_invalid_requests, error_responses
from shared.auth import Principal, units_in_scope
from shared.clock import vietnam_today
from shared.display import BAND_LABELS
from shared.events import FIRST_PLAN_YEAR, LAST_PLAN_YEAR, Indicator
from shared.http_auth import principal_with_role, serve_tokens, token_authenticator
from shared.request_log import RequestLog
from shared.resilience import answer_unavailable

PACK_ERRORS = error_responses(401, 403, 404, 422, 503)
SCORE_ERRORS = error_responses(401, 403, 404, 422, 503)
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


Reader = Annotated[
    Principal,
    Depends(principal_with_role("board", "committee", "admin", "head",
                                refusal="the heads' scores are for boards, committees, admins and heads")),
]  # fmt: skip


async def _scope(conn: asyncpg.Connection, who: Principal) -> set[str] | None:
    """The units whose people the reader may see scored: a token without units (a board's), every unit."""
    return None if not who.units else await units_in_scope(conn, who)


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as wrong:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(wrong)) from None


def _scored(made: HeadScore) -> dict[str, Any]:
    return asdict(made) | {"band_label": BAND_LABELS.get(made.band or "", None)}


def create_projector_app(
    pool: asyncpg.Pool, rules: ProgressRules, today: Callable[[], dt.date] = vietnam_today
) -> FastAPI:
    scheme = rules.scoring
    app = FastAPIOffline(title="PIM boards", version="1", description=__doc__)  # docs render offline
    answer_unavailable(app)
    app.add_middleware(RequestLog, service="boards")
    answer_invalid_requests(app)
    app.state.pool = pool
    serve_tokens(app, token_authenticator(pool))
    app.include_router(standings_router)  # the lists, reporting, a unit's year, the registry, a leader

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

    @app.get("/v1/scores", tags=["scores"], responses=SCORE_ERRORS)
    async def period_scores(
        who: Reader,
        period: Annotated[
            str, Query(max_length=10, description="a quarter (2025-Q3) or, from 2026, a month (2026-02)")
        ],
    ) -> dict[str, Any]:
        """Every person answerable for a unit within your units in the period, scored: the score out of 100,
        its band, the share of reports late, and each criterion's points with the figures they came from."""
        chosen = _period(period)
        async with pool.acquire() as conn:
            scope = await _scope(conn, who)
            made = await head_scores(conn, chosen, today(), scheme, who.leader_id if who.role == "head" else None,
                                     scope)  # fmt: skip
        return {"period": chosen.name, "scheme": scheme.model_dump(mode="json"), "scores": [_scored(m) for m in made]}

    @app.get("/v1/scores/{leader_id}", tags=["scores"], responses=SCORE_ERRORS)
    async def leader_scores(
        who: Reader,
        leader_id: Annotated[str, Path(max_length=64)],
        year: Annotated[int, Query(ge=FIRST_PLAN_YEAR, le=LAST_PLAN_YEAR)],
    ) -> dict[str, Any]:
        """One person's periods of a year (its quarters; from 2026 its months too), each scored. A head reads
        only their own; others, the people answerable within their units."""
        if who.role == "head" and who.leader_id != leader_id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such leader among yours")
        periods = []
        async with pool.acquire() as conn:
            scope = await _scope(conn, who)
            for chosen in periods_of(year, scheme):
                if chosen.first > today():
                    continue
                periods += [_scored(m) for m in await head_scores(conn, chosen, today(), scheme, leader_id, scope)]
        if not periods:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no period of {year} to score for {leader_id}")
        return {"leader_id": leader_id, "year": year, "scheme": scheme.model_dump(mode="json"), "periods": periods}

    @app.get("/health", tags=["operations"], responses=HEALTH_ERRORS)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
