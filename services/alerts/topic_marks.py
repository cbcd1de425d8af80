"""Whether the broker still holds the alert messages it acknowledged. The embedded broker may restart empty
(and a real one may lose a topic): the outbox had marked those deliveries made, so no one would send them
again. Per partition the last acknowledged message is remembered; when the partition no longer holds it
there, every Kafka delivery is made again (the topic's consumers drop a repeat by its idempotency key)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from services.alerts.outbox import OUTBOX_CHANNEL
from shared.bus import make_consumer, still_holds, stop_consumer
from shared.settings import AlertsSettings

log = logging.getLogger(__name__)

CHECK_EVERY_S = 5.0

# partition → (offset, idempotency key) of the last message the broker acknowledged there
Acknowledged = dict[int, tuple[int, str]]


def _carrying(idempotency_key: str) -> Callable[[ConsumerRecord[Any, Any]], bool]:
    key = idempotency_key.encode()
    return lambda record: dict(record.headers).get("idempotency-key") == key


class AlertsTopicMarks:
    def __init__(self, pool: asyncpg.Pool, topic: str) -> None:
        self._pool = pool
        self.topic = topic

    async def remember(self, acknowledged: Acknowledged) -> None:
        """Keep, per partition, the furthest message acknowledged."""
        async with self._pool.acquire() as conn:
            await conn.executemany(
                "INSERT INTO alerts_topic_marks (topic, kafka_partition, last_offset, idempotency_key)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (topic, kafka_partition) DO UPDATE"
                " SET last_offset = excluded.last_offset, idempotency_key = excluded.idempotency_key"
                " WHERE alerts_topic_marks.last_offset < excluded.last_offset",
                [(self.topic, partition, offset, key) for partition, (offset, key) in sorted(acknowledged.items())],
            )

    async def send_again_if_lost(self, probe: AIOKafkaConsumer) -> int:
        """If a partition no longer holds its last acknowledged message, queue every Kafka delivery again and
        forget the marks; the number queued again."""
        async with self._pool.acquire() as conn:
            marks = await conn.fetch(
                "SELECT kafka_partition, last_offset, idempotency_key FROM alerts_topic_marks WHERE topic = $1",
                self.topic,
            )
        if not marks:
            return 0
        await probe.topics()  # fresh metadata: a partition that held messages may be gone
        existing = probe.partitions_for_topic(self.topic) or set()
        lost = []
        for mark in marks:
            tp = TopicPartition(self.topic, mark["kafka_partition"])
            if tp.partition not in existing or await still_holds(
                probe, tp, mark["last_offset"], _carrying(mark["idempotency_key"])
            ) is False:  # fmt: skip
                lost.append(tp.partition)
        if not lost:
            return 0
        async with self._pool.acquire() as conn, conn.transaction():
            again = await conn.execute(
                "UPDATE alert_outbox SET delivered_at = NULL, dead_lettered_at = NULL, attempts = 0,"
                " next_attempt_at = now(), last_error = 'the broker lost it: sent again'"
                " WHERE channel = 'kafka' AND delivered_at IS NOT NULL"
            )
            await conn.execute("DELETE FROM alerts_topic_marks WHERE topic = $1", self.topic)
            await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")  # the dispatcher wakes
        count = int(again.split()[-1])
        log.warning("alerts: the broker lost partitions %s of %s; %d Kafka deliveries queued again",
                    sorted(lost), self.topic, count)  # fmt: skip
        return count

    async def watch(self, settings: AlertsSettings, every_s: float = CHECK_EVERY_S) -> None:
        """Check every `every_s` until cancelled; a broker away is waited for."""
        while True:
            probe = make_consumer(settings, group=None)  # end offsets only: no consumer group
            try:
                await probe.start()
                while True:
                    await self.send_again_if_lost(probe)
                    await asyncio.sleep(every_s)
            except KafkaError as error:
                log.warning("alerts: checking the alerts topic failed (%r); trying again", error)
                await asyncio.sleep(every_s)
            finally:
                with contextlib.suppress(Exception):
                    await stop_consumer(probe)
