"""Waits until the pipeline has caught up: every stored event relayed and projected, every progress
unit evaluated by the alerts service,
every alert notification delivered. Used by `pim demo` and by the end-to-end tests."""

from __future__ import annotations

import asyncio
import time

from pim.stack import Stack
from services.alerts import stale_evaluations
from shared.bus import topic_end_offsets
from shared.event_store import EventStore

POLL_S = 0.05


async def is_settled(stack: Stack, with_alerts: bool = True) -> bool:
    """Everything stored is relayed and projected; `with_alerts`, also evaluated and delivered. Only if nothing
    was stored while it looked: an evaluation committing between its reads (its alerts stored after the head was
    read, the unit then no longer stale) once passed for settled with those alerts not yet projected."""
    store = EventStore(stack.pool)
    async with stack.pool.acquire() as conn:
        head = await store.head(conn)
        topic = stack.settings.ledger_topic
        relayed = await conn.fetchval("SELECT position FROM relay_progress WHERE topic = $1", topic)
        projected = {
            r["partition"]: r["next_offset"]
            for r in await conn.fetch(
                "SELECT partition, next_offset FROM projector_offsets WHERE topic = $1",
                stack.settings.ledger_topic,
            )
        }
        derived_behind = await conn.fetchval("SELECT EXISTS (SELECT FROM projector_pending)")
        unevaluated = await stale_evaluations(conn, stack.alerts_today) if with_alerts else []
        undelivered = (
            await conn.fetchval(
                "SELECT count(*) FROM alert_outbox WHERE delivered_at IS NULL AND dead_lettered_at IS NULL"
            )
            if with_alerts
            else 0
        )
    if (relayed or 0) < head or derived_behind or unevaluated or undelivered:
        return False
    ends = await topic_end_offsets(stack.settings, stack.settings.ledger_topic)
    if not all(projected.get(partition, 0) >= end for partition, end in ends.items() if end > 0):
        return False
    return await store.head() == head


async def wait_until_settled(stack: Stack, timeout_s: float = 120.0, with_alerts: bool = True) -> None:
    deadline = time.monotonic() + timeout_s
    while not await is_settled(stack, with_alerts):
        stack.raise_if_failed()
        if time.monotonic() > deadline:
            raise TimeoutError(f"the pipeline did not settle within {timeout_s:.0f} s")
        await asyncio.sleep(POLL_S)
