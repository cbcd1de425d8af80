"""The projector service: consumes the ledger in batches and keeps the read models current.

The consumer position is stored in PostgreSQL in the same transaction as the rows it produced (not in
Kafka), so a crash between the two is impossible; on assignment the consumer seeks to it. A stored
offset beyond the partition's end means the broker lost its data: read that partition from the start
(the relay refills it, and re-applied events are no-ops).
"""

from __future__ import annotations

import logging
import time

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from services.projector.projection import ProgressChanged, apply_events
from services.projector.rebuild import PROJECTOR_LOCK
from services.projector.rules_config import progress_rules
from shared.bus import decode_recorded, encode_json, make_consumer, make_producer
from shared.observability import EVENTS_PROJECTED, PROJECTOR_BATCH_SECONDS
from shared.settings import Settings
from shared.topics import ensure_topics

log = logging.getLogger(__name__)

MAX_BATCH = 20_000  # bigger batches: the derived rows are recomputed once per batch


class _SeekToCheckpoint(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, projector: Projector) -> None:
        self._projector = projector

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        pass  # nothing buffered: every batch is committed before the next getmany

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._projector.seek_to_checkpoints(assigned)


class Projector:
    def __init__(self, settings: Settings, pool: asyncpg.Pool) -> None:
        self._settings = settings
        self._pool = pool
        self._topic = settings.ledger_topic
        self._rules = progress_rules(settings)
        self._consumer: AIOKafkaConsumer | None = None

    async def run(self) -> None:
        await ensure_topics(self._settings)
        consumer = make_consumer(self._settings, group="projector")
        consumer.subscribe([self._topic], listener=_SeekToCheckpoint(self))
        producer = make_producer(self._settings)
        self._consumer = consumer
        await consumer.start()
        await producer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=MAX_BATCH)
                if batches:
                    changes = await self.apply_batches(batches)
                    await self._notify(producer, changes)
        finally:
            await producer.stop()
            await consumer.stop()

    async def seek_to_checkpoints(self, assigned: list[TopicPartition]) -> None:
        assert self._consumer is not None
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT partition, next_offset FROM projector_offsets WHERE topic = $1", self._topic
            )
        stored = {r["partition"]: r["next_offset"] for r in rows}
        ends = await self._consumer.end_offsets(assigned)
        for tp in assigned:
            offset = stored.get(tp.partition)
            if offset is None or offset > ends[tp]:
                if offset is not None:
                    log.warning("projector: %s ends at %d, below checkpoint %d; re-reading", tp, ends[tp], offset)
                self._consumer.seek(tp, 0)
            else:
                self._consumer.seek(tp, offset)

    async def apply_batches(self, batches: dict[TopicPartition, list]) -> list[ProgressChanged]:  # type: ignore[type-arg]
        started = time.perf_counter()
        events = [decode_recorded(m.value) for messages in batches.values() for m in messages]
        events.sort(key=lambda e: e.position)
        offsets = [(tp.topic, tp.partition, messages[-1].offset + 1) for tp, messages in batches.items()]
        async with self._pool.acquire() as conn, conn.transaction():
            # Shared with other batches; a rebuild's swap takes it exclusively (services/projector/rebuild.py).
            await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", PROJECTOR_LOCK)
            changes = await apply_events(conn, events, self._rules)
            await conn.executemany(
                "INSERT INTO projector_offsets (topic, partition, next_offset) VALUES ($1, $2, $3)"
                " ON CONFLICT (topic, partition) DO UPDATE SET next_offset = $3",
                offsets,
            )
        EVENTS_PROJECTED.inc(len(events))
        PROJECTOR_BATCH_SECONDS.observe(time.perf_counter() - started)
        return changes

    async def _notify(self, producer: AIOKafkaProducer, changes: list[ProgressChanged]) -> None:
        topic = self._settings.progress_topic
        futures = [await producer.send(topic, encode_json(c.as_message()), key=c.unit_code.encode()) for c in changes]
        for future in futures:
            await future
