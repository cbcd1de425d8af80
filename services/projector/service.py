"""The projector service: consumes the ledger in batches and keeps the read models current.

Each batch writes its facts, records what they touched (`pending`) and moves the checkpoint in one
transaction. The derived rows (progress, peer standing, accountability) are recomputed from the facts
for everything pending once the consumer has caught up, or once the oldest pending work has waited as
long as the last recompute took: a burst of events costs few recomputes, not one per batch, and the
read models lag by at most about one recompute.

The consumer position is stored in PostgreSQL in the same transaction as the rows it produced (not in
Kafka), so a crash between the two is impossible; on assignment the consumer seeks to it, after writing
a long backlog from the event store instead (catch_up.py: bounded memory whatever the broker hands over). A stored
offset beyond the partition's end means the broker lost its data: read that partition from the start
(the relay refills it, and re-applied events are no-ops). A refill may also hold the same events at other
offsets than the old ledger: reading on from an old offset skips some, which the relay's chain of
predecessors shows (ledger_chain.py), and the partition is read again from its start.
"""

from __future__ import annotations

import logging
import time

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.projector import catch_up, pending
from services.projector.fact_tables import write_ledger_messages
from services.projector.ledger_chain import follow, links
from services.projector.progress_rules import ProgressRules, progress_rules
from services.projector.recompute import recompute
from shared import locks
from shared.bus import assign_all, make_consumer, make_producer, stop_consumer
from shared.contracts import ProgressChanged
from shared.observability import (
    EVENTS_PROJECTED,
    PROJECTOR_BATCH_SECONDS,
    PROJECTOR_POSITION,
    PROJECTOR_RECOMPUTE_SECONDS,
    PROJECTOR_RECOMPUTED,
)
from shared.settings import ProjectorSettings
from shared.topics import ensure_topics

log = logging.getLogger(__name__)

MAX_BATCH = 10_000  # messages per batch: bigger batches gain little and hold more memory
PARTITION_CHECK_S = 10.0  # how often the projector looks for partitions added to the ledger
MIN_STALENESS_S = 1.0  # while behind, recompute at most this often (more rarely when recomputes take longer)


def recompute_due(pending_for_s: float, behind: bool, last_recompute_s: float) -> bool:
    """With work pending for `pending_for_s`: recompute now if the consumer has caught up; while it is
    behind, once the work has waited as long as the last recompute took (at least MIN_STALENESS_S), so
    at most about half the time goes to recomputing and a burst is folded into few recomputes."""
    return not behind or pending_for_s >= max(MIN_STALENESS_S, last_recompute_s)


class Projector:
    """The ledger consumer. Handed its rules (no I/O when built): `from_settings` reads the pace and
    assessment files."""

    def __init__(self, settings: ProjectorSettings, pool: asyncpg.Pool, rules: ProgressRules) -> None:
        self._settings = settings
        self._pool = pool
        self._topic = settings.ledger_topic
        self._rules = rules
        self._consumer: AIOKafkaConsumer | None = None
        self._newest: dict[TopicPartition, int] = {}  # per partition, the newest position read (ledger_chain.py)
        self._pending_since: float | None = time.monotonic()  # a previous run may have left work pending
        self._last_recompute_s = 0.0

    @property
    def rules(self) -> ProgressRules:
        return self._rules

    @classmethod
    def from_settings(cls, settings: ProjectorSettings, pool: asyncpg.Pool) -> Projector:
        return cls(settings, pool, progress_rules(settings))

    async def run(self) -> None:
        await ensure_topics(self._settings)
        # No consumer group: every instance reads every partition from the checkpoints in PostgreSQL (the
        # writes are idempotent and the checkpoints only move forward), so a killed instance's successor
        # resumes at once, whatever the broker does with group membership. More instances add redundancy.
        consumer = make_consumer(self._settings, group=None)
        producer = make_producer(self._settings)
        self._consumer = consumer
        await consumer.start()
        await producer.start()
        try:
            assigned = await self._assign(consumer)
            looked = time.monotonic()
            while True:
                if time.monotonic() - looked > PARTITION_CHECK_S:  # a broker that lost its data may come
                    looked = time.monotonic()  # back with the ledger's partitions re-created one by one
                    await consumer.topics()
                    if len(consumer.partitions_for_topic(self._topic) or ()) > len(assigned):
                        log.warning("projector: the ledger has new partitions; reading them too")
                        assigned = await self._assign(consumer)
                batches = await consumer.getmany(timeout_ms=500, max_records=MAX_BATCH)
                if batches:
                    await self.apply_batches(batches)
                if self._recompute_due(consumer, batches):
                    await self._notify(producer, await self.recompute_pending())
        finally:
            await producer.stop()
            await stop_consumer(consumer)

    async def _assign(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """Read every partition of the ledger from its checkpoint, after catching up from the store if far
        behind. Paused meanwhile: the consumer would otherwise start fetching from the earliest offset."""
        assigned = await assign_all(consumer, self._topic)
        consumer.pause(*assigned)
        await self.catch_up_if_far_behind(assigned)
        await self.seek_to_checkpoints(assigned)
        consumer.resume(*assigned)
        return assigned

    async def catch_up_if_far_behind(self, assigned: list[TopicPartition]) -> int:
        """Write a long backlog from the event store rather than the ledger (services/projector/catch_up.py);
        return the number of events written so."""
        assert self._consumer is not None
        ends = {tp.partition: end for tp, end in (await self._consumer.end_offsets(assigned)).items()}
        async with self._pool.acquire() as conn:
            work = await catch_up.pending_work(conn, self._topic, ends, self._settings.pim_projector_catch_up_lag)
        if work is None:
            return 0
        log.info("projector: far behind the ledger; writing positions %d-%d from the store", work.start + 1, work.up_to)
        written = await catch_up.catch_up(self._pool, self._topic, work)
        PROJECTOR_POSITION.set(work.up_to)
        self._pending_since = self._pending_since or time.monotonic()
        EVENTS_PROJECTED.inc(written)
        return written

    async def seek_to_checkpoints(self, assigned: list[TopicPartition]) -> None:
        assert self._consumer is not None
        if self._pending_since is None:  # an instance that died may have left work pending
            self._pending_since = time.monotonic()
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT partition, next_offset, position FROM projector_offsets WHERE topic = $1", self._topic
            )
        stored = {r["partition"]: r["next_offset"] for r in rows}
        self._newest = {TopicPartition(self._topic, r["partition"]): r["position"] for r in rows}
        ends = await self._consumer.end_offsets(assigned)
        for tp in assigned:
            offset = stored.get(tp.partition)
            if offset is None or offset > ends[tp]:
                self._newest[tp] = 0
                if offset is not None:
                    log.warning("projector: %s ends at %d, below checkpoint %d; re-reading", tp, ends[tp], offset)
                    async with self._pool.acquire() as conn:  # checkpoints only move forward: restart this one
                        await conn.execute(
                            "UPDATE projector_offsets SET next_offset = 0, position = 0"
                            " WHERE topic = $1 AND partition = $2",
                            tp.topic,
                            tp.partition,
                        )
                self._consumer.seek(tp, 0)
            else:
                self._consumer.seek(tp, offset)

    def _recompute_due(self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list]) -> bool:  # type: ignore[type-arg]
        if self._pending_since is None:
            return False
        behind = any((consumer.highwater(tp) or 0) > messages[-1].offset + 1 for tp, messages in batches.items())
        return recompute_due(time.monotonic() - self._pending_since, behind, self._last_recompute_s)

    async def apply_batches(self, batches: dict[TopicPartition, list]) -> None:  # type: ignore[type-arg]
        """Write the facts of `batches`, record what they touched and move the checkpoint, atomically. A
        partition whose messages break the relay's chain (ledger_chain.py) is set back to its start instead."""
        started = time.perf_counter()
        kept: dict[TopicPartition, list] = {}  # type: ignore[type-arg]
        newest: dict[TopicPartition, int] = {}
        broken: list[TopicPartition] = []
        for tp, messages in batches.items():
            after = follow(self._newest.get(tp, 0), links(messages))
            if after is None:
                broken.append(tp)
            else:
                kept[tp], newest[tp] = messages, after
        values = [m.value for messages in kept.values() for m in messages]
        # The newest position read in each partition: every event at or below it is applied (catch_up.py).
        offsets = [(tp.topic, tp.partition, kept[tp][-1].offset + 1, newest[tp]) for tp in kept]
        async with self._pool.acquire() as conn, conn.transaction():
            # Shared with other batches; a rebuild's swap takes it exclusively (services/projector/rebuild.py).
            await conn.execute(locks.PROJECTOR_BATCHES_SHARED)
            if values:
                await pending.record(conn, await write_ledger_messages(conn, values))
            if offsets:
                await conn.executemany(catch_up.MOVE_CHECKPOINT, offsets)
            if broken:  # checkpoints only move forward: set back explicitly
                await conn.execute(
                    "UPDATE projector_offsets SET next_offset = 0, position = 0 WHERE topic = $1"
                    " AND partition = ANY($2)", self._topic, [tp.partition for tp in broken],
                )  # fmt: skip
        self._newest.update(newest)
        for tp in broken:
            log.warning("projector: %s skipped messages (the ledger was refilled under it); re-reading it", tp)
            assert self._consumer is not None
            self._consumer.seek(tp, 0)
            self._newest[tp] = 0
        if not values:
            return
        if self._pending_since is None:
            self._pending_since = time.monotonic()
        EVENTS_PROJECTED.inc(len(values))
        seconds = time.perf_counter() - started
        PROJECTOR_BATCH_SECONDS.observe(seconds)
        up_to = max(newest.values())
        PROJECTOR_POSITION.set(up_to)
        log.info("projector: applied %d ledger events (up to position %d) in %.0f ms", len(values), up_to,
                 seconds * 1000, extra={"events": len(values), "positions": [up_to]})  # fmt: skip

    async def recompute_pending(self) -> list[ProgressChanged]:
        """Bring the derived rows up to date with every fact written so far."""
        started = time.perf_counter()
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(locks.PROJECTOR_BATCHES_SHARED)
            # One recompute at a time across instances: a peer group's standing is computed from its
            # members' rows, which another instance's recompute may be rewriting; waiting for it means
            # reading them after its commit (each statement sees what was committed before it began).
            await conn.execute(locks.PROJECTOR_RECOMPUTE)
            changes = await recompute(conn, await pending.take(conn), self._rules)
        self._pending_since = None
        self._last_recompute_s = time.perf_counter() - started
        PROJECTOR_RECOMPUTE_SECONDS.observe(self._last_recompute_s)
        PROJECTOR_RECOMPUTED.set_to_current_time()
        units = sorted({c.unit_code for c in changes})
        log.info("projector: progress recomputed in %.0f ms; %d changes for %d units%s", self._last_recompute_s * 1000,
                 len(changes), len(units), f" ({', '.join(units[:5])}{' …' if len(units) > 5 else ''})" if units
                 else "", extra={"events": len(changes)})  # fmt: skip
        return changes

    async def _notify(self, producer: AIOKafkaProducer, changes: list[ProgressChanged]) -> None:
        topic = self._settings.progress_topic
        futures = [await producer.send(topic, c.model_dump_json().encode(), key=c.unit_code.encode()) for c in changes]
        for future in futures:
            await future
