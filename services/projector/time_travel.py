"""Progress "as known on" a date: what was on the table at a past meeting, before later reports and
corrections. A figure is known from its source document's date where a backfill carries one, from the
day it was recorded otherwise; a target from the day it was recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from services.projector.progress import ProgressRules
from services.projector.progress_rows import HISTORY_COLUMNS, compute_progress
from services.projector.touched import ProgressKey


async def progress_as_known_on(conn: asyncpg.Connection, day: dt.date, rules: ProgressRules) -> list[dict[str, Any]]:
    """Every unit's progress history (totals and categories) from the facts known on `day`."""
    keys = [
        ProgressKey(r["unit_code"], r["indicator"], r["plan_year"])
        for r in await conn.fetch(
            "SELECT DISTINCT unit_code, indicator, plan_year FROM figures WHERE known_on <= $1 ORDER BY 1, 2, 3", day
        )
    ]
    if not keys:
        return []
    records, _ = await compute_progress(conn, keys, rules, known_on=day)
    return [dict(zip(HISTORY_COLUMNS, record, strict=True)) for record in records]
