"""Kafka plumbing shared by the services: producers, consumers and the ledger message format."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.partitioner import DefaultPartitioner
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY

from shared.events import RecordedEvent
from shared.fetch_wait import honour_fetch_wait
from shared.money import plain_json
from shared.settings import CommonSettings


def bootstrap(settings: CommonSettings) -> str:
    if settings.kafka_bootstrap_servers is None:
        raise RuntimeError("KAFKA_BOOTSTRAP_SERVERS is not set and no embedded broker was started")
    return settings.kafka_bootstrap_servers


def make_producer(settings: CommonSettings) -> AIOKafkaProducer:
    """A producer that waits for all in-sync replicas; idempotent where the broker supports it."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap(settings),
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=15_000,
    )


def make_broker(settings: CommonSettings, service: str) -> KafkaBroker:
    """A FastStream broker for `service`; per-message logs at DEBUG (one line a message is too much at INFO)."""
    honour_fetch_wait()
    return KafkaBroker(
        bootstrap(settings),
        enable_idempotence=settings.kafka_enable_idempotence,
        log_level=logging.DEBUG,
        logger=logging.getLogger(f"pim.{service}.broker"),
        middlewares=[KafkaPrometheusMiddleware(registry=REGISTRY, app_name=f"pim-{service}")],
    )


def make_consumer(settings: CommonSettings, *topics: str, group: str | None, **options: Any) -> AIOKafkaConsumer:
    """A consumer; `group` None: no consumer group (the caller assigns partitions, see `assign_all`)."""
    honour_fetch_wait()
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap(settings),
        group_id=None if group is None else settings.consumer_group(group),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **options,
    )


async def assign_all(consumer: AIOKafkaConsumer, topic: str, timeout_s: float = 60) -> list[TopicPartition]:
    """Assign every partition of `topic` to a started consumer that has no group.

    PIM's consumers keep their positions in PostgreSQL (or need none), so they assign partitions
    themselves instead of waiting on the broker's group membership: noida-db never hands a killed
    member's partitions to its successor, which would stop the consumer for good after a kill -9."""
    deadline = time.monotonic() + timeout_s
    while not (partitions := consumer.partitions_for_topic(topic)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {topic} has no partitions after {timeout_s:.0f} s")
        await consumer.topics()  # refreshes the cluster metadata
        await asyncio.sleep(0.1)
    assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(assigned)
    return assigned


async def end_offsets(consumer: AIOKafkaConsumer, topic: str) -> dict[int, int]:
    """The end offset of each partition of `topic` (what a caught-up reader has reached)."""
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or set()]
    return {tp.partition: offset for tp, offset in (await consumer.end_offsets(partitions)).items()}


async def topic_end_offsets(settings: CommonSettings, topic: str) -> dict[int, int]:
    """`end_offsets` with a consumer of its own, for a one-off look."""
    consumer = make_consumer(settings, group=None)  # a look, not a member: no group to coordinate
    await consumer.start()
    try:
        return await end_offsets(consumer, topic)
    finally:
        await stop_consumer(consumer)


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """`consumer.stop()`, once the consumer's own start-up task has run: a consumer with no group stopped
    with nothing awaited since its start (a topic with no partition to ask about) has that task cancelled
    before it ever ran, and aiokafka's stop then raises CancelledError (aio-libs/aiokafka#647)."""
    await asyncio.sleep(0)  # one turn of the loop: the task takes its first step, not a wait for time
    await consumer.stop()


def encode_recorded(event: RecordedEvent) -> bytes:
    return event.model_dump_json().encode()


def decode_recorded(value: bytes) -> RecordedEvent:
    return RecordedEvent.model_validate_json(value)


# Each ledger message names, in headers, its event's position and the position of the event the relay put
# before it in the same partition (0: the first since the ledger was filled, or refilled after a loss). A
# consumer that meets an event newer than any it read, whose predecessor is not the newest it read, skipped
# messages: a ledger refilled under it holds the same events at other offsets (services/projector/ledger_chain.py).
POSITION_HEADER, PREVIOUS_HEADER = "pim-position", "pim-previous"


def ledger_headers(position: int, previous: int | None) -> list[tuple[str, bytes]]:
    """`previous` None: not known (a relay mark stored before positions were kept)."""
    headers = [(POSITION_HEADER, str(position).encode())]
    return headers if previous is None else [*headers, (PREVIOUS_HEADER, str(previous).encode())]


def chain_link(record: ConsumerRecord[Any, Any]) -> tuple[int, int | None] | None:
    """(position, previous) from a ledger message's headers; None for a message published without them."""
    found = {key: value for key, value in record.headers or ()}
    if POSITION_HEADER not in found:
        return None
    previous = found.get(PREVIOUS_HEADER)
    return int(found[POSITION_HEADER]), None if previous is None else int(previous)


@functools.lru_cache(maxsize=100_000)
def partition_for(key: bytes, partitions: int) -> int:
    """The partition the producer's default partitioner picks for `key` (murmur2, as the Java client): the
    relay names it itself so it knows each event's predecessor in the partition before sending."""
    return int(DefaultPartitioner()(key, list(range(partitions)), []))


def encode_json(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, default=plain_json).encode()


async def still_holds(
    probe: AIOKafkaConsumer,
    tp: TopicPartition,
    offset: int,
    is_it: Callable[[ConsumerRecord[Any, Any]], bool],
    end: int | None = None,
) -> bool | None:
    """Whether the partition still holds, at `offset`, the record `is_it` recognises: False when it ends at or
    before it or holds another record there (a broker that restarted empty and took new records since);
    None when nothing came back in time, which is no evidence either way. `end`: the partition's end
    offset, when the caller has just read it."""
    if end is None:
        end = (await probe.end_offsets([tp]))[tp]
    if end <= offset:
        return False
    probe.assign([tp])
    probe.seek(tp, offset)
    records = (await probe.getmany(tp, timeout_ms=5_000, max_records=1)).get(tp, [])
    if not records:
        return None
    return records[0].offset == offset and is_it(records[0])
