"""The boards' pages: the Ministry-style lists of a group and the board pack; a unit's year and a
leader's scorecard (any role, within its scope)."""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations.
import datetime as dt
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse

from services.portal.views import year_view
from services.portal.web import (
    PortalOf,
    Signed,
    only,
    page,
    refusal_text,
)

router = APIRouter()


@router.get("/board", response_class=HTMLResponse)
async def board_lists(
    portal: PortalOf,
    session: Signed,
    as_of: Annotated[dt.date | None, Query()] = None,
    indicator: Annotated[str, Query(pattern="^(public_investment_disbursement|budget_revenue)$")] = (
        "public_investment_disbursement"
    ),
    group: Annotated[str, Query(max_length=100)] = "national",
) -> Response:
    """The Ministry-style lists of a group as of a date, as the projector keeps them, and the pack."""
    only(session, "board", "admin")
    day = as_of or portal.today()
    lists = await portal.services.standings_of(session.account, day, indicator, group)
    return page("board.html.j2", session=session, lists=lists, as_of=day, indicator=indicator, group=group,
                quote=quote)  # fmt: skip


@router.get("/board/pack")
async def board_pack(
    portal: PortalOf,
    session: Signed,
    as_of: Annotated[dt.date, Query()],
    indicator: Annotated[str, Query(pattern="^(public_investment_disbursement|budget_revenue)$")],
    group: Annotated[str, Query(max_length=100)],
    known_on: Annotated[dt.date | None, Query()] = None,
) -> Response:
    only(session, "board", "admin")
    answer = await portal.services.board_pack(session.account, as_of, indicator, group, known_on)
    if answer.status_code != 200:
        return page("refused.html.j2", answer.status_code, session=session, reason=refusal_text(answer.json()))
    return Response(
        answer.content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_pack_name(group, as_of, known_on)}"'},
    )


@router.get("/unit", response_class=HTMLResponse)
async def unit_page(
    portal: PortalOf,
    session: Signed,
    code: Annotated[str, Query(max_length=64)],
    indicator: Annotated[str, Query(pattern="^(public_investment_disbursement|budget_revenue)$")] = (
        "public_investment_disbursement"
    ),
    plan_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    as_of: Annotated[dt.date | None, Query()] = None,
) -> Response:
    """A unit's plan year: its rate against the pace on each reported date, as a chart and a table, and
    who answered for it in which months. Any role, for the units in its scope (others: not found)."""
    day = as_of or portal.today()
    year = await portal.services.unit_year(session.account, code, indicator, plan_year or day.year, day)
    names = {u["unit_code"]: u["name"] for u in await portal.services.units(session.account)}
    if year is None or code not in names:
        return page("refused.html.j2", 404, session=session,
                    reason="Không có đơn vị này trong phạm vi của bạn / no such unit in your scope")  # fmt: skip
    return page("unit.html.j2", session=session, year=year, unit_name=names[code], code=code, indicator=indicator,
                as_of=day, **year_view(year, names[code]))  # fmt: skip


@router.get("/leader", response_class=HTMLResponse)
async def leader_page(
    portal: PortalOf, session: Signed, leader_id: Annotated[str, Query(alias="id", max_length=128)]
) -> Response:
    """A leader's scorecard: months behind the pace per plan year over every stint (boards, committees,
    admins; a head sees their own)."""
    found = await portal.services.leader(session.account, leader_id)
    if found is None:
        return page("refused.html.j2", 404, session=session,
                    reason="Không có người này trong phạm vi của bạn / no such leader you may read")  # fmt: skip
    names = {u["unit_code"]: u["name"] for u in await portal.services.units(session.account)}
    year = max((y["plan_year"] for y in found["years"]), default=portal.today().year)
    scores = await portal.services.scores(session.account, leader_id, year)
    return page("leader.html.j2", session=session, leader=found, names=names, scores=scores)


def _pack_name(group: str, as_of: dt.date, known_on: dt.date | None) -> str:
    known = f"-biet-den-{known_on}" if known_on else ""
    return f"pim-bao-cao-{group.replace('/', '-')}-{as_of}{known}.pdf"
