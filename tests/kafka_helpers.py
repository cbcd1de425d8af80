"""Helpers for tests that read topics of a real broker, waiting on conditions with deadlines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from shared.settings import Settings


async def read_topic(
    settings: Settings, topic: str, until: Callable[[list[ConsumerRecord]], bool], timeout_s: float = 30
) -> list[ConsumerRecord]:
    """Read `topic` from the start (no consumer group) until `until(records)` holds; partitions added
    meanwhile are read too (metadata refreshed every half second)."""
    assert settings.kafka_bootstrap_servers is not None
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap_servers, auto_offset_reset="earliest", group_id=None,
        metadata_max_age_ms=500,
    )  # fmt: skip
    await consumer.start()
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout_s
    try:
        while not until(records):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: condition not met after {len(records)} records")
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records += batch
    finally:
        await consumer.stop()
    return records


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout_s} s")
        await asyncio.sleep(0.05)
