"""A projector far behind the ledger writes the backlog from the event store, in chunks, instead of reading
it through the broker (noida-db hands one fetch the whole backlog: 2 GB for 2,000,000 events), moves its
checkpoints to the relay's marks, then reads the ledger from there; the read models equal a fresh rebuild.
Close behind, or when the relay's marks are not on the broker, it reads the ledger as before."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
import pytest

from services.projector import Projector
from services.projector import catch_up as catch_up_module
from services.projector.catch_up import pending_work
from services.projector.progress_rules import ProgressRules
from services.relay import Relay
from shared.bus import topic_end_offsets
from shared.event_store import EventStore, Submitter
from shared.settings import Settings
from shared.topics import ensure_topics
from tests.integration.projector_helpers import caught_up
from tests.integration.test_projection_order import assert_live_equals_a_rebuild, history
from tests.kafka_helpers import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def relayed(settings: Settings, pool: asyncpg.Pool) -> bool:
    async with pool.acquire() as conn:
        head = await conn.fetchval("SELECT max(position) FROM events")
        relayed = await conn.fetchval("SELECT position FROM relay_state WHERE topic = $1", settings.ledger_topic)
    return bool(relayed is not None and relayed >= head)


async def test_a_projector_far_behind_writes_the_backlog_from_the_store_then_reads_the_ledger(
    settings: Settings, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(catch_up_module, "CHUNK", 7)  # many chunks, and one cut short at the end
    await ensure_topics(settings)
    store = EventStore(pool)
    events = history()
    half = len(events) // 2
    for start in range(0, half, 3):
        await store.append(events[start : start + 3], Submitter("test", "test"))
    relay = asyncio.create_task(Relay(settings, pool).run())
    projector_task = None
    try:
        await eventually(lambda: relayed(settings, pool), timeout_s=60, what="the backlog on the ledger")
        far_behind = settings.model_copy(update={"pim_projector_catch_up_lag": 5})
        with caplog.at_level(logging.INFO, logger="services.projector.service"):
            projector_task = asyncio.create_task(Projector(far_behind, pool, ProgressRules()).run())

            async def checkpointed_at_the_ends() -> bool:
                ends = await topic_end_offsets(settings, settings.ledger_topic)
                async with pool.acquire() as conn:
                    stored = dict(await conn.fetch("SELECT partition, next_offset FROM projector_offsets"))
                return sum(ends.values()) > 0 and all(stored.get(p, 0) == end for p, end in ends.items())

            await eventually(checkpointed_at_the_ends, timeout_s=60, what="checkpoints moved to the relay's marks")
        head = await store.head()
        assert f"writing positions 1-{head} from the store" in caplog.text
        for start in range(half, len(events), 3):  # the ledger goes on: read from it now
            await store.append(events[start : start + 3], Submitter("test", "test"))
        await eventually(lambda: caught_up(settings, pool), timeout_s=60, what="projector caught up")
        assert caplog.text.count("from the store") == 1
    finally:
        for task in (relay, projector_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    await assert_live_equals_a_rebuild(pool)


async def test_the_catch_up_starts_at_the_least_position_applied_and_only_when_it_is_safe(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    topic = settings.ledger_topic
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO relay_state (topic, position, partition_offsets) VALUES ($1, 900, $2)",
            topic,
            {"0": {"offset": 499, "position": 899}, "1": {"offset": 399, "position": 900}},
        )
        await conn.execute(
            "INSERT INTO projector_offsets (topic, partition, next_offset, position)"
            " VALUES ($1, 0, 100, 180), ($1, 1, 50, 120)",
            topic,
        )
        work = await pending_work(conn, topic, {0: 500, 1: 400}, lag_limit=100)
        assert work is not None and (work.start, work.up_to) == (120, 900)
        assert work.checkpoints == {0: (500, 899), 1: (400, 900)}
        assert await pending_work(conn, topic, {0: 500, 1: 400}, lag_limit=750) is None  # 750 behind: read the ledger
        # a partition the broker lost (shorter than the relay's mark): read the ledger as the relay refills it
        assert await pending_work(conn, topic, {0: 500, 1: 10}, lag_limit=0) is None
        # a partition never read counts as nothing applied
        work = await pending_work(conn, topic, {0: 500, 1: 400, 2: 0}, lag_limit=0)
        assert work is not None and work.start == 0
