"""The board pack from the read models: as they stand, or as known on a past meeting date (with what
changed since), as HTML; `render_pdf` makes the PDF of it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from services.projector.board_pack.changes import changes_since
from services.projector.board_pack.contents import read_pack
from services.projector.board_pack.render import render_html, render_pdf
from services.projector.known_on_workspace import cut_stints, stints_as_of
from services.projector.known_on_workspace import known_on as known_on_workspace
from services.projector.progress_rules import ProgressRules
from services.projector.standings import plan_years_on
from shared.events import Indicator


async def board_pack_html(
    conn: asyncpg.Connection,
    as_of: dt.date,
    indicator: Indicator,
    group: str | None,
    known_on: dt.date | None,
    rules: ProgressRules,
    plan_year: int | None = None,
) -> str | None:
    """The pack's HTML; None when there are no standings on or before `as_of` (for `group`). Every part of it
    is as of `as_of`: the lists, each unit's chart, its stints (cut at that date) and the alerts as they
    stood then. Of `plan_year`, by default the newest open on `as_of`."""
    if known_on is None:
        year = plan_year or await _newest_open_year(conn, indicator, as_of)
        if year is None:
            return None
        async with stints_as_of(conn, as_of, year):
            pack, changes = await read_pack(conn, as_of, indicator.value, group, None, year, rules.scoring), None
    else:
        async with known_on_workspace(conn, known_on, rules):
            year = plan_year or await _newest_open_year(conn, indicator, as_of)
            if year is not None:
                await cut_stints(conn, as_of, year)
            pack = await read_pack(conn, as_of, indicator.value, group, known_on, year, rules.scoring)
        changes = None if pack is None else await changes_since(conn, pack.groups, as_of, known_on, group)
    return (
        None if pack is None else render_html(pack, rules.curves[indicator], changes, rules.assessment.report_due_days)
    )


async def _newest_open_year(conn: asyncpg.Connection, indicator: Indicator, as_of: dt.date) -> int | None:
    return next(iter(await plan_years_on(conn, indicator.value, as_of)), None)


async def write_board_pack(
    conn: asyncpg.Connection,
    outs: Sequence[Path],
    as_of: dt.date,
    indicator: Indicator,
    group: str | None,
    known_on: dt.date | None,
    rules: ProgressRules,
    plan_year: int | None = None,
) -> bool:
    """Write the pack, read once, to each of `outs`: PDF for `.pdf`, else HTML. False when there is nothing
    to write."""
    html = await board_pack_html(conn, as_of, indicator, group, known_on, rules, plan_year)
    if html is None:
        return False
    for out in outs:
        if out.suffix.lower() == ".pdf":  # seconds of CPU: off the event loop
            pdf = await asyncio.to_thread(render_pdf, html)
            await asyncio.to_thread(out.write_bytes, pdf)
        else:
            await asyncio.to_thread(out.write_text, html, encoding="utf-8")
    return True
