"""A broker that lost everything and was refilled by the relay holds the same events at other offsets: an
offset remembered from the old ledger (a checkpoint, or the consumer's own position) then names another
message. The relay chains each message to its predecessor in the partition; a projector that meets a break
reads the partition again from its start (re-applied events are no-ops). Found by the fault suite (seed
1080118510): the relay had re-sent a batch on the old ledger, so the refilled one was shorter before each
checkpoint and the projector, restarted after the refill, skipped the events between."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from services.projector import Projector
from services.projector.progress_rules import ProgressRules
from services.relay import Relay
from shared.event_store import EventStore, Submitter
from shared.events import DomainEvent
from shared.resilience import supervise
from shared.settings import Settings
from tests.integration.projector_helpers import caught_up
from tests.integration.test_projection_order import assert_live_equals_a_rebuild, history
from tests.integration.test_projector_catch_up import relayed
from tests.kafka_helpers import broker_of_its_own, eventually, read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@contextlib.asynccontextmanager
async def running(*services: Relay | Projector) -> AsyncIterator[None]:
    """Each service run as `pim up` runs it: started again when a dependency fails it."""
    tasks = [asyncio.create_task(supervise(type(s).__name__, s.run, {}, first_backoff_s=0.2)) for s in services]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def resend(settings: Settings, count: int) -> None:
    """What a relay killed between publishing and recording does: the first `count` messages again."""
    records = await read_topic(settings, settings.ledger_topic, lambda r: len(r) >= count)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        for record in records[:count]:
            await producer.send_and_wait(
                settings.ledger_topic, record.value, key=record.key, partition=record.partition
            )
    finally:
        await producer.stop()


async def test_after_a_loss_and_a_refill_a_checkpoint_naming_another_message_is_read_again(
    infra: Settings, settings: Settings, pool: asyncpg.Pool
) -> None:
    async with broker_of_its_own(infra, settings) as (broker, own):
        events, half = await first_half_and_a_resent_batch(own, pool)
        async with running(Projector(own, pool, ProgressRules())):
            await eventually(lambda: caught_up(own, pool, relay_running=False), timeout_s=60, what="first half")

        await broker.lose_everything()
        await store_and_relay(own, pool, events[half:])  # the relay refills the new ledger, once each
        async with running(Projector(own, pool, ProgressRules())):
            await eventually(lambda: caught_up(own, pool, relay_running=False), timeout_s=60, what="all of it")
    await assert_live_equals_a_rebuild(pool)


async def first_half_and_a_resent_batch(settings: Settings, pool: asyncpg.Pool) -> tuple[list[DomainEvent], int]:
    """The history's first half stored and on the ledger, its first six messages there twice (a relay
    killed between publishing and recording): a ledger a refill will not lay out the same way."""
    events = history()
    half = len(events) // 2
    await store_and_relay(settings, pool, events[:half])
    await resend(settings, 6)
    return events, half


async def store_and_relay(settings: Settings, pool: asyncpg.Pool, events: list[DomainEvent]) -> None:
    """Append `events` three at a time, then run a relay until the ledger holds the whole store."""
    store = EventStore(pool)
    for start in range(0, len(events), 3):
        await store.append(events[start : start + 3], Submitter("test", "test"))
    async with running(Relay(settings, pool)):
        await eventually(lambda: relayed(settings, pool), timeout_s=60, what="the store on the ledger")


async def test_a_refill_while_the_projector_runs_is_read_again_from_the_start(
    infra: Settings, settings: Settings, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    async with broker_of_its_own(infra, settings) as (broker, own):
        events, half = await first_half_and_a_resent_batch(own, pool)
        projector = Projector(own, pool, ProgressRules())
        with caplog.at_level(logging.WARNING, logger="services.projector.service"):
            async with running(projector):
                await eventually(lambda: caught_up(own, pool, relay_running=False), timeout_s=60, what="first half")
                # The consumer fetches again only after the relay has refilled the ledger (a consumer slow to
                # reconnect): the test holds its partitions while the broker is lost and refilled.
                consumer = projector._consumer
                assert consumer is not None
                consumer.pause(*consumer.assignment())
                await broker.lose_everything()
                await store_and_relay(own, pool, events[half:])
                consumer.resume(*consumer.assignment())

                async def read_again() -> bool:
                    return "re-reading it" in caplog.text and await caught_up(own, pool, relay_running=False)

                await eventually(read_again, timeout_s=60, what="the refilled partitions read again")
    await assert_live_equals_a_rebuild(pool)
