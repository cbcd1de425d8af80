"""The relay: publishes committed events, in position order, from the event store to the ledger topic.

At-least-once: the published position is stored only after the broker acknowledged the batch, so a
crash re-sends a batch and consumers skip by position. If the broker loses its data (the embedded
broker may restart empty), the ledger's end offsets fall below the offsets the relay saw
acknowledged; the relay then republishes everything from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from shared.bus import encode_recorded, make_consumer, make_producer
from shared.event_store import EVENTS_APPENDED_CHANNEL, EventStore
from shared.observability import EVENTS_RELAYED
from shared.settings import Settings

log = logging.getLogger(__name__)

BATCH_SIZE = 5000
IDLE_CHECK_S = 2.0  # how often an idle relay checks whether the broker lost the ledger


class Relay:
    def __init__(self, settings: Settings, pool: asyncpg.Pool) -> None:
        self._settings = settings
        self._pool = pool
        self._store = EventStore(pool)
        self._topic = settings.ledger_topic
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Publish forever; reconnect after broker failures."""
        listener = await self._pool.acquire()

        def on_notify(*_: object) -> None:
            self._wake.set()

        await listener.add_listener(EVENTS_APPENDED_CHANNEL, on_notify)
        try:
            while True:
                producer = make_producer(self._settings)
                probe = make_consumer(self._settings, group="relay-probe")  # reads end offsets only
                try:
                    await producer.start()
                    await probe.start()
                    await self._publish_loop(producer, probe, listener)
                except KafkaError as error:
                    log.warning("relay: broker error %r; reconnecting", error)
                    await asyncio.sleep(0.5)
                finally:
                    for client in (producer, probe):
                        with contextlib.suppress(Exception):
                            await client.stop()
        finally:
            await listener.remove_listener(EVENTS_APPENDED_CHANNEL, on_notify)
            await self._pool.release(listener)

    async def _publish_loop(
        self, producer: AIOKafkaProducer, probe: AIOKafkaConsumer, listener: asyncpg.Connection
    ) -> None:
        await self.refill_if_broker_lost_data(probe)
        while True:
            if listener.is_closed():  # PostgreSQL restarted: no NOTIFY comes on it any more
                raise ConnectionResetError("the relay's NOTIFY connection to PostgreSQL was lost")
            self._wake.clear()
            published = await self.publish_pending(producer)
            if published:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_CHECK_S)
            if not self._wake.is_set():
                await self.refill_if_broker_lost_data(probe)

    async def _state(self) -> tuple[int, dict[str, int]]:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT position, partition_offsets FROM relay_state WHERE topic = $1", self._topic
            )
        if row is None:
            return 0, {}
        return row["position"], dict(row["partition_offsets"])

    async def _save_state(self, position: int, offsets: dict[str, int]) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO relay_state (topic, position, partition_offsets) VALUES ($1, $2, $3)"
                " ON CONFLICT (topic) DO UPDATE SET position = $2, partition_offsets = $3",
                self._topic,
                position,
                offsets,
            )

    async def publish_pending(self, producer: AIOKafkaProducer) -> int:
        """Publish the next batch of unpublished events; return how many were sent."""
        position, offsets = await self._state()
        events = await self._store.read_after(position, BATCH_SIZE)
        if not events:
            return 0
        # Sends are queued in position order; aiokafka keeps one batch in flight per partition and the
        # idempotent producer de-duplicates its retries, so per-unit order holds on the topic.
        futures = [await producer.send(self._topic, encode_recorded(e), key=e.stream_id.encode()) for e in events]
        for metadata in await asyncio.gather(*futures):
            partition = str(metadata.partition)
            offsets[partition] = max(offsets.get(partition, -1), metadata.offset)
        await self._save_state(events[-1].position, offsets)
        EVENTS_RELAYED.inc(len(events))
        return len(events)

    async def refill_if_broker_lost_data(self, probe: AIOKafkaConsumer) -> bool:
        """If the ledger ends below offsets the broker once acknowledged, republish from position 0."""
        _, offsets = await self._state()
        if not offsets:
            return False
        partitions = [TopicPartition(self._topic, int(p)) for p in offsets]
        ends = await probe.end_offsets(partitions)
        lost = [tp.partition for tp in partitions if ends.get(tp, 0) <= offsets[str(tp.partition)]]
        if not lost:
            return False
        log.warning("relay: ledger partitions %s lost data; republishing from the event store", lost)
        await self._save_state(0, {})
        return True
