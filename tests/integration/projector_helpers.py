"""Projecting events in a test: what the projector does with a batch, facts then derived rows, in one call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg

from services.projector.facts import write_facts
from services.projector.progress import ProgressRules
from services.projector.recompute import recompute
from shared.contracts import ProgressChanged
from shared.events import RecordedEvent


async def apply_events(
    conn: asyncpg.Connection, events: Sequence[RecordedEvent], rules: ProgressRules, today: dt.date | None = None
) -> list[ProgressChanged]:
    """Write `events` into the read models and recompute the progress rows they touch."""
    return await recompute(conn, await write_facts(conn, events), rules, today)
