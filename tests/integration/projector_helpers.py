"""Projecting events in a test: what the projector does with a batch, facts then derived rows, in one call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg

from services.projector.fact_tables import write_facts
from services.projector.progress_rules import ProgressRules
from services.projector.recompute import recompute
from shared.bus import topic_end_offsets
from shared.contracts import ProgressChanged
from shared.events import RecordedEvent
from shared.settings import Settings


async def apply_events(
    conn: asyncpg.Connection, events: Sequence[RecordedEvent], rules: ProgressRules, today: dt.date | None = None
) -> list[ProgressChanged]:
    """Write `events` into the read models and recompute the progress rows they touch."""
    return await recompute(conn, await write_facts(conn, events), rules, today)


async def caught_up(settings: Settings, pool: asyncpg.Pool, relay_running: bool = True) -> bool:
    """The relay has published the whole store (when it runs), and the projector has applied and recomputed
    all the ledger holds."""
    async with pool.acquire() as conn:
        head = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
        relayed = await conn.fetchval("SELECT position FROM relay_state WHERE topic = $1", settings.ledger_topic)
    if relay_running and (relayed or 0) < head:
        return False  # the ledger's end is not yet the store's: "caught up" with it would say too little
    ends = await topic_end_offsets(settings, settings.ledger_topic)
    async with pool.acquire() as conn:
        stored = dict(await conn.fetch("SELECT partition, next_offset FROM projector_offsets"))
        pending = await conn.fetchval("SELECT EXISTS (SELECT FROM projector_pending)")
    return not pending and sum(ends.values()) > 0 and all(stored.get(p, 0) >= end for p, end in ends.items())
