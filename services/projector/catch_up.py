"""Catching up from the event store when far behind the ledger.

A projector that starts with a long backlog on the ledger (after downtime, or on a new database) would
read it through the broker, and noida-db answers a fetch with everything the partition holds, whatever
the consumer asks: catching up 2,000,000 events took the projector to 2 GB. When the backlog exceeds
`PIM_PROJECTOR_CATCH_UP_LAG` messages, the projector instead writes the facts of the stored events the
relay has published, CHUNK positions per transaction, then moves its checkpoints to the relay's marks and
reads the ledger from there.

Why the marks are the right checkpoints: the relay publishes in position order and saves, with the
position P it has published up to, the last offset each partition acknowledged. Every message at or below
that offset carries an event at or below P (nothing later was sent before the save), and every event at or
below P sent to that partition sits at or below it. So once every event up to P is written, reading each
partition from its mark + 1 misses nothing. Where to start: each checkpoint records the position of the
last message it applied, and every event at or below the least of them (over all of the ledger's
partitions; 0 for one never read or reset) is already written. Writes are idempotent, so a catch-up cut
short is simply done again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from services.projector import pending
from services.projector.fact_tables import write_store_range
from shared import locks

CHUNK = 10_000  # store positions written per transaction: bounds the memory a catch-up holds

# Checkpoints only move forward, and the position of the last message applied moves with them.
MOVE_CHECKPOINT = (
    "INSERT INTO projector_offsets AS o (topic, partition, next_offset, position) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset, position = excluded.position"
    " WHERE o.next_offset < excluded.next_offset"
)


@dataclass(frozen=True)
class CatchUp:
    """Write the stored events in (start, up_to], then read each partition from `checkpoints`."""

    start: int
    up_to: int
    checkpoints: Mapping[int, tuple[int, int]]  # partition -> (next offset, position of the message before it)


async def pending_work(conn: asyncpg.Connection, topic: str, ends: Mapping[int, int], lag_limit: int) -> CatchUp | None:
    """A catch-up from the store when the ledger's backlog (`ends` against the checkpoints) exceeds
    `lag_limit` messages and the relay's marks are all on the broker; None to read the ledger."""
    rows = await conn.fetch("SELECT partition, next_offset, position FROM projector_offsets WHERE topic = $1", topic)
    stored = {r["partition"]: (r["next_offset"], r["position"]) for r in rows}
    lag = sum(max(0, end - stored.get(partition, (0, 0))[0]) for partition, end in ends.items())
    if lag <= lag_limit:
        return None
    # What the relay publishes of its progress: how far the ledger holds the store.
    relay = await conn.fetchrow("SELECT position, partition_offsets FROM relay_progress WHERE topic = $1", topic)
    if relay is None:
        return None
    marks = {int(p): (m["offset"], m["position"]) for p, m in dict(relay["partition_offsets"]).items()}
    if any(partition not in ends or offset >= ends[partition] for partition, (offset, _) in marks.items()):
        return None  # the broker lost data the relay has yet to send again: read the ledger as it refills
    start = min(stored.get(partition, (0, 0))[1] for partition in ends)
    if relay["position"] <= start:
        return None
    checkpoints = {partition: (offset + 1, position) for partition, (offset, position) in marks.items()}
    return CatchUp(start, relay["position"], checkpoints)


async def catch_up(pool: asyncpg.Pool, topic: str, work: CatchUp) -> int:
    """Do `work`; return the number of store positions written. The derived rows are left pending."""
    after = work.start
    while after < work.up_to:
        chunk_end = min(after + CHUNK, work.up_to)
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(locks.PROJECTOR_BATCHES_SHARED)  # as a batch: a rebuild's swap waits
            await pending.record(conn, await write_store_range(conn, after, chunk_end))
            if chunk_end == work.up_to:
                await conn.executemany(
                    MOVE_CHECKPOINT, [(topic, p, offset, pos) for p, (offset, pos) in work.checkpoints.items()]
                )
        after = chunk_end
    return work.up_to - work.start
