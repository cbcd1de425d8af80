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
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from shared.bus import (
    decode_recorded,
    encode_recorded,
    ledger_headers,
    make_consumer,
    make_producer,
    partition_for,
    still_holds,
    stop_consumer,
)
from shared.event_store import EVENTS_APPENDED_CHANNEL, EventStore
from shared.notify_listener import Listening, notify_listener
from shared.observability import EVENTS_RELAYED, RELAY_PUBLISHED_POSITION, STORE_HEAD_POSITION
from shared.settings import RelaySettings
from shared.topics import ensure_topics

log = logging.getLogger(__name__)

BATCH_SIZE = 5000
IDLE_CHECK_S = 2.0  # how often an idle relay checks whether the broker lost the ledger


@dataclass(frozen=True)
class Mark:
    """The last offset the broker acknowledged in a partition, and the event published there (None for
    marks stored before positions were kept)."""

    offset: int
    position: int | None


def _mark(stored: object) -> Mark:
    if isinstance(stored, int):  # the earlier form: the offset alone
        return Mark(stored, None)
    assert isinstance(stored, dict)
    return Mark(int(stored["offset"]), None if stored.get("position") is None else int(stored["position"]))


class Relay:
    def __init__(self, settings: RelaySettings, pool: asyncpg.Pool) -> None:
        self._settings = settings
        self._pool = pool
        self._store = EventStore(pool)
        self._topic = settings.ledger_topic
        self._wake = asyncio.Event()
        # Per partition, the (end offset, mark) last found intact: while neither moved, the idle check (every
        # IDLE_CHECK_S) needs no fetch of the marked record. A loss shows as a shorter partition, or the
        # relay's own republishing moves the marks; a record written by anyone else moves the end.
        self._verified: dict[TopicPartition, tuple[int, Mark]] = {}

    async def run(self) -> None:
        """Publish forever; reconnect after broker failures."""
        async with notify_listener(self._pool, EVENTS_APPENDED_CHANNEL, self._wake) as listening:
            while True:
                producer = make_producer(self._settings)
                # end offsets only: no consumer group (a group with no subscription makes aiokafka's coordinator
                # fail an assertion and log a traceback at every start and stop)
                probe = make_consumer(self._settings, group=None)
                try:
                    # Before anything is produced: a broker that lost its data would otherwise auto-create
                    # the ledger with one partition on the first send.
                    await ensure_topics(self._settings)
                    await producer.start()
                    await probe.start()
                    await self._publish_loop(producer, probe, listening)
                except KafkaError as error:
                    log.warning("relay: broker error %r; reconnecting", error)
                    await asyncio.sleep(0.5)
                finally:
                    with contextlib.suppress(Exception):
                        await producer.stop()
                    with contextlib.suppress(Exception):
                        await stop_consumer(probe)

    async def _publish_loop(self, producer: AIOKafkaProducer, probe: AIOKafkaConsumer, listening: Listening) -> None:
        await self.refill_if_broker_lost_data(probe)
        while True:
            if listening.lost:  # PostgreSQL restarted: no NOTIFY comes on it any more
                raise ConnectionResetError("the relay's NOTIFY connection to PostgreSQL was lost")
            self._wake.clear()
            published = await self.publish_pending(producer)
            if published:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_CHECK_S)
            if not self._wake.is_set():
                await self.refill_if_broker_lost_data(probe)

    async def _state(self) -> tuple[int, dict[str, Mark]]:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT position, partition_offsets FROM relay_state WHERE topic = $1", self._topic
            )
        if row is None:
            return 0, {}
        return row["position"], {p: _mark(value) for p, value in dict(row["partition_offsets"]).items()}

    async def _save_state(self, position: int, marks: dict[str, Mark]) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO relay_state (topic, position, partition_offsets) VALUES ($1, $2, $3)"
                " ON CONFLICT (topic) DO UPDATE SET position = $2, partition_offsets = $3",
                self._topic,
                position,
                {p: {"offset": m.offset, "position": m.position} for p, m in marks.items()},
            )

    async def publish_pending(self, producer: AIOKafkaProducer) -> int:
        """Publish the next batch of unpublished events; return how many were sent."""
        position, marks = await self._state()
        events = await self._store.read_after(position, BATCH_SIZE)
        if not events:
            STORE_HEAD_POSITION.set(position)  # nothing after it: the store's head
            RELAY_PUBLISHED_POSITION.set(position)
            return 0
        # Sends are queued in position order; aiokafka keeps one batch in flight per partition and the
        # idempotent producer de-duplicates its retries, so per-unit order holds on the topic. The relay names
        # each event's partition (as the default partitioner would) to chain it to the event before it there.
        partitions = len(await producer.partitions_for(self._topic))
        before = {int(p): m.position for p, m in marks.items()}  # a mark of no position: predecessor unknown
        futures = []
        for e in events:
            key = e.stream_id.encode()
            target = partition_for(key, partitions)
            headers = ledger_headers(e.position, before.get(target, 0))
            futures.append(await producer.send(self._topic, encode_recorded(e), key=key, partition=target,
                                               headers=headers))  # fmt: skip
            before[target] = e.position
        for event, metadata in zip(events, await asyncio.gather(*futures), strict=True):
            partition = str(metadata.partition)
            if partition not in marks or metadata.offset > marks[partition].offset:
                marks[partition] = Mark(metadata.offset, event.position)
        await self._save_state(events[-1].position, marks)
        EVENTS_RELAYED.inc(len(events))
        RELAY_PUBLISHED_POSITION.set(events[-1].position)
        if len(events) == BATCH_SIZE:  # more behind it: how many, for the lag
            STORE_HEAD_POSITION.set(await self._store.head())
        else:
            STORE_HEAD_POSITION.set(events[-1].position)
        requests = sorted({str(e.correlation_id) for e in events if e.correlation_id is not None})
        log.info("relay: published %d events, positions %d–%d%s", len(events), events[0].position,
                 events[-1].position, f" (requests {', '.join(requests[:5])}{' …' if len(requests) > 5 else ''})"
                 if requests else "", extra={"events": len(events), "positions": [events[0].position,
                 events[-1].position], "correlation_ids": requests or None})  # fmt: skip
        return len(events)

    async def refill_if_broker_lost_data(self, probe: AIOKafkaConsumer) -> bool:
        """If the ledger no longer holds what the broker once acknowledged, republish from position 0.

        Each partition's mark is the last offset acknowledged and the event published there. The data is
        lost when the partition is gone, ends at or below the offset, or holds another event there: a
        broker that restarted empty may already have taken new events, which pushes its end offsets past
        the old ones, so comparing ends alone missed a second loss."""
        _, marks = await self._state()
        if not marks:
            return False
        await probe.topics()  # fresh metadata: a partition acknowledged before may be gone
        existing = probe.partitions_for_topic(self._topic) or set()
        lost = [int(p) for p in marks if int(p) not in existing]
        for p, mark in marks.items():
            if int(p) in existing and not await self._holds(probe, TopicPartition(self._topic, int(p)), mark):
                lost.append(int(p))
        if not lost:
            return False
        log.warning("relay: ledger partitions %s lost data; republishing from the event store", sorted(lost))
        await self._save_state(0, {})
        return True

    async def _holds(self, probe: AIOKafkaConsumer, tp: TopicPartition, mark: Mark) -> bool:
        """Whether the partition still holds the marked event at the marked offset."""
        end = (await probe.end_offsets([tp]))[tp]
        if end > mark.offset and (mark.position is None or self._verified.get(tp) == (end, mark)):
            return True  # an old mark (only its offset is known), or nothing moved since it was found intact
        intact = await still_holds(
            probe, tp, mark.offset, lambda r: decode_recorded(r.value).position == mark.position, end
        )
        if intact:
            self._verified[tp] = (end, mark)
        return intact is not False  # nothing came back in time: not evidence of a loss; the next check looks again
