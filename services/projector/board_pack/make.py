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
from services.projector.progress import ProgressRules
from shared.events import Indicator
from shared.standings import latest_plan_year


async def board_pack_html(
    conn: asyncpg.Connection,
    as_of: dt.date,
    indicator: Indicator,
    group: str | None,
    known_on: dt.date | None,
    rules: ProgressRules,
) -> str | None:
    """The pack's HTML; None when there are no standings on or before `as_of` (for `group`). Every part of it
    is as of `as_of`: the lists, each unit's chart, its stints (cut at that date) and the alerts as they
    stood then."""
    if known_on is None:
        year = await latest_plan_year(conn, indicator.value, as_of)
        if year is None:
            return None
        async with stints_as_of(conn, as_of, year):
            pack, changes = await read_pack(conn, as_of, indicator.value, group, None), None
    else:
        async with known_on_workspace(conn, known_on, rules):
            year = await latest_plan_year(conn, indicator.value, as_of)
            if year is not None:
                await cut_stints(conn, as_of, year)
            pack = await read_pack(conn, as_of, indicator.value, group, known_on)
        changes = None if pack is None else await changes_since(conn, pack.groups, as_of, known_on, group)
    return None if pack is None else render_html(pack, rules.curves[indicator], changes)


async def write_board_pack(
    conn: asyncpg.Connection,
    outs: Sequence[Path],
    as_of: dt.date,
    indicator: Indicator,
    group: str | None,
    known_on: dt.date | None,
    rules: ProgressRules,
) -> bool:
    """Write the pack, read once, to each of `outs`: PDF for `.pdf`, else HTML. False when there is nothing
    to write."""
    html = await board_pack_html(conn, as_of, indicator, group, known_on, rules)
    if html is None:
        return False
    for out in outs:
        if out.suffix.lower() == ".pdf":  # seconds of CPU: off the event loop
            pdf = await asyncio.to_thread(render_pdf, html)
            await asyncio.to_thread(out.write_bytes, pdf)
        else:
            await asyncio.to_thread(out.write_text, html, encoding="utf-8")
    return True
