"""The relay against a real PostgreSQL and a real broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from prometheus_client import REGISTRY

from services.relay.relay import Relay
from shared.bus import decode_recorded, topic_end_offsets
from shared.event_store import EVENTS_APPENDED_CHANNEL, EventStore, Submitter
from shared.events import DisbursementReported
from shared.settings import Settings
from shared.topics import LEDGER_PARTITIONS, ensure_topics
from tests.kafka_helpers import broker_of_its_own, eventually, read_topic
from tests.published_schema import published_problems

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def figure(unit: str, amount: int) -> DisbursementReported:
    return DisbursementReported.model_validate(
        {
            "unit_code": unit,
            "plan_year": 2025,
            "category": "local_budget",
            "as_of": "2025-05-31",
            "amount": amount,
        }
    )


@contextlib.asynccontextmanager
async def running(relay: Relay) -> AsyncIterator[None]:
    task = asyncio.create_task(relay.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def relayed_up_to(pool: asyncpg.Pool, settings: Settings, position: int) -> bool:
    async with pool.acquire() as conn:
        recorded = await conn.fetchval("SELECT position FROM relay_state WHERE topic = $1", settings.ledger_topic)
    return (recorded or 0) >= position


def positions(records: list) -> list[int]:  # type: ignore[type-arg]
    return [decode_recorded(r.value).position for r in records]


async def test_relay_publishes_every_event_keyed_by_unit_in_order(settings: Settings, pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    units = [f"unit-{i}" for i in range(7)]
    await ensure_topics(settings)
    async with running(Relay(settings, pool)):
        for amount in range(20):
            await store.append([figure(u, amount) for u in units], Submitter("t", "test"))
        records = await read_topic(settings, settings.ledger_topic, lambda r: len(r) >= 140)
    assert sorted(positions(records)) == list(range(1, 141))
    per_unit: dict[str, list[int]] = defaultdict(list)
    for record in records:
        event = decode_recorded(record.value)
        assert record.key.decode() == event.stream_id
        assert published_problems(json.loads(record.value), "RecordedEvent") == []
        per_unit[event.stream_id].append(event.stream_version)
    assert all(versions == list(range(1, 21)) for versions in per_unit.values())


async def test_the_relay_logs_what_it_published_with_the_requests_that_stored_it(
    settings: Settings, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="services.relay")
    request = uuid.uuid4()
    await ensure_topics(settings)
    await EventStore(pool).append([figure("hue", 1), figure("hue", 2)], Submitter("t", "test", correlation_id=request))
    async with running(Relay(settings, pool)):
        await eventually(lambda: relayed_up_to(pool, settings, 2), what="relay progress recorded")
    lines = [r for r in caplog.records if r.name == "services.relay.relay" and "published" in r.getMessage()]
    assert lines and lines[0].getMessage() == f"relay: published 2 events, positions 1–2 (requests {request})"
    assert lines[0].correlation_ids == [str(request)]  # type: ignore[attr-defined]
    # and where it stands, for the lag rules (infra/prometheus/rules.yml)
    assert REGISTRY.get_sample_value("pim_relay_published_position") == 2
    assert REGISTRY.get_sample_value("pim_store_head_position") == 2


async def test_relay_resumes_where_it_stopped_without_republishing(settings: Settings, pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    await ensure_topics(settings)
    await store.append([figure("hue", 1), figure("hue", 2)], Submitter("t", "test"))
    async with running(Relay(settings, pool)):
        await read_topic(settings, settings.ledger_topic, lambda r: len(r) >= 2)
        # Stopped only once it has recorded how far it got: stopped between the broker's acknowledgement
        # and that record, it would rightly publish them again (at least once), which is not this test.
        await eventually(lambda: relayed_up_to(pool, settings, 2), what="relay progress recorded")
    await store.append([figure("hue", 3)], Submitter("t", "test"))
    async with running(Relay(settings, pool)):
        records = await read_topic(settings, settings.ledger_topic, lambda r: len(r) >= 3)
    assert sorted(positions(records)) == [1, 2, 3]


async def test_broker_that_restarts_empty_is_refilled_from_the_store_every_time(
    infra: Settings, settings: Settings, pool: asyncpg.Pool
) -> None:
    """The embedded broker may lose everything, more than once; nothing committed to the store may be lost,
    and the relay itself re-creates the topics with their partitions (no one else does it here)."""
    async with broker_of_its_own(infra, settings) as (broker, own):
        store = EventStore(pool)
        async with running(Relay(own, pool)):
            await store.append([figure(f"u{i}", i) for i in range(30)], Submitter("t", "test"))
            await read_topic(own, own.ledger_topic, lambda r: len(r) >= 30)
            head = 30
            for _ in range(2):  # two losses: the relay notices each one

                async def stored_meanwhile(first: int = head) -> None:  # while no broker answers
                    await store.append([figure(f"u{i}", first + i) for i in range(10)], Submitter("t", "test"))

                await broker.lose_everything(stored_meanwhile)
                head += 10
                everything = set(range(1, head + 1))

                def complete(records: list[ConsumerRecord[bytes, bytes]], every: set[int] = everything) -> bool:
                    return set(positions(records)) >= every

                records = await read_topic(own, own.ledger_topic, complete, 60)
                assert set(positions(records)) == everything
                ends = await topic_end_offsets(own, own.ledger_topic)
                assert len(ends) == LEDGER_PARTITIONS, ends  # not the one partition an auto-create makes


async def test_a_relay_stopped_while_it_starts_to_listen_gives_its_connection_back(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stack stopped just as the relay started hung for ever in the pool's close: the relay was cancelled
    between taking its listening connection and the block that gives it back."""
    pool = await asyncpg.create_pool(str(settings.database_url), min_size=1, max_size=2)
    listening = asyncio.Event()

    async def slow_listen(self: asyncpg.Connection, channel: str, callback: object) -> None:
        listening.set()
        await asyncio.Event().wait()  # LISTEN's round trip, caught at its worst moment

    monkeypatch.setattr(asyncpg.connection.Connection, "add_listener", slow_listen)
    task = asyncio.create_task(Relay(settings, pool).run())
    await asyncio.wait_for(listening.wait(), timeout=10)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await asyncio.wait_for(pool.close(), timeout=10)  # every connection back: the close does not wait for ever


async def terminate_listeners(pool: asyncpg.Pool, channel: str) -> int:
    """What a PostgreSQL restart does to a listening connection: the server ends it. Only once its LISTEN has
    finished (idle): ended while the statement still ran, the service's start fails instead, with another
    error (a race this test once lost)."""
    async with pool.acquire() as conn:
        return len(await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query = $1 AND state = 'idle'", f'LISTEN "{channel}"',
        ))  # fmt: skip


async def test_a_relay_whose_listening_connection_postgres_ends_says_so_and_stops(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    """The pool takes a dropped connection back by itself, so asking it `is_closed()` raised "released back
    to the pool" (logged as an unexplained dependency failure, and only at the next idle check): the relay
    must notice the loss at once and end with what happened, for the service's restart loop to report."""
    await ensure_topics(settings)
    task = asyncio.create_task(Relay(settings, pool).run())
    try:

        async def listening() -> bool:
            return bool(await terminate_listeners(pool, EVENTS_APPENDED_CHANNEL))

        await eventually(listening, timeout_s=30, what="the relay listening, then its connection ended")
        with pytest.raises(ConnectionResetError, match="NOTIFY connection to PostgreSQL was lost"):
            await asyncio.wait_for(task, timeout=30)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
            await task
    await asyncio.wait_for(pool.close(), timeout=10)  # and the connection was given back
