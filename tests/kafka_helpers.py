"""Helpers for tests that read topics of a real broker, waiting on conditions with deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from pim.embedded import EmbeddedKafka
from shared.bus import stop_consumer
from shared.settings import EmbeddedBroker, Settings
from shared.topics import ensure_topics


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
        await stop_consumer(consumer)
    return records


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 30, what: str = "condition") -> None:
    """Wait until `check()` holds; the deadline also bounds a check that itself hangs (a client waiting on
    a server that does not answer), so the wait fails with `what` rather than at the test runner's timeout."""
    scope = asyncio.timeout(timeout_s)
    try:
        async with scope:
            while True:
                if await check():
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        if not scope.expired():
            raise  # the check's own error, not the deadline's
        raise TimeoutError(f"{what} not reached within {timeout_s} s") from None


class OwnBroker:
    """An embedded broker of one test's own, which can lose everything: stopped, then started again on the
    same port with no data (what the embedded broker may do), as often as the test asks."""

    def __init__(self, kind: EmbeddedBroker, folder: Path) -> None:
        self._kind, self._folder, self._losses = kind, folder, 0
        self._broker = EmbeddedKafka(kind, folder / "0")

    async def start(self) -> str:
        return await self._broker.start()

    async def lose_everything(self, meanwhile: Callable[[], Awaitable[object]] | None = None) -> None:
        self._broker.stop()
        if meanwhile is not None:  # what happens while no broker answers
            await meanwhile()
        self._losses += 1
        self._broker = EmbeddedKafka(self._kind, self._folder / str(self._losses), port=self._broker.port)
        await self._broker.start()

    def stop(self) -> None:
        self._broker.stop()


@contextlib.asynccontextmanager
async def broker_of_its_own(infra: Settings, settings: Settings) -> AsyncIterator[tuple[OwnBroker, Settings]]:
    """A broker of the test's own, and `settings` pointing at it (its topics made)."""
    folder = Path(tempfile.mkdtemp(prefix="pim-broker-"))
    broker = OwnBroker(infra.pim_embedded_broker, folder)
    try:
        own = settings.model_copy(update={"kafka_bootstrap_servers": await broker.start()})
        await ensure_topics(own)
        yield broker, own
    finally:
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)
