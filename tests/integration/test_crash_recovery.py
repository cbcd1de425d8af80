"""kill -9 of a real `pim projector` process on the default broker while the ledger streams: its successor
resumes and the read models equal a fresh rebuild (noida-db never hands a killed group member's
partitions to a new one, so a consumer that waited on group membership stopped for good)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import asyncpg
import pytest

from services.projector.progress import ProgressRules
from services.projector.rebuild import rebuild
from services.relay import Relay
from shared.bus import topic_end_offsets
from shared.event_store import EventStore, Submitter
from shared.settings import Settings
from shared.topics import ensure_topics
from tests.integration.test_projection_order import history, snapshot
from tests.kafka_helpers import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
PIM = str(Path(sys.executable).with_name("pim"))


def service_env(settings: Settings) -> dict[str, str]:
    """The environment a separate `pim` process needs to work on this test's database, broker and topics."""
    assert settings.database_url is not None and settings.kafka_bootstrap_servers is not None
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "PIM_TOPIC_PREFIX": settings.pim_topic_prefix,
    }


@contextlib.asynccontextmanager
async def pim_process(settings: Settings, log: IO[bytes], *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(PIM, *args, env=service_env(settings), stdout=log, stderr=log)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def _checkpointed(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval("SELECT coalesce(sum(next_offset), 0) FROM projector_offsets"))


async def _caught_up(settings: Settings, pool: asyncpg.Pool) -> bool:
    ends = await topic_end_offsets(settings, settings.ledger_topic)
    async with pool.acquire() as conn:
        stored = dict(await conn.fetch("SELECT partition, next_offset FROM projector_offsets"))
        pending = await conn.fetchval("SELECT EXISTS (SELECT FROM projector_pending)")
    return not pending and sum(ends.values()) > 0 and all(stored.get(p, 0) >= end for p, end in ends.items())


async def test_a_projector_killed_with_kill_9_is_resumed_by_its_successor(
    settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await ensure_topics(settings)
    store = EventStore(pool)
    events = history()
    half = len(events) // 2
    relay = asyncio.create_task(Relay(settings, pool).run())
    try:
        with (tmp_path / "projector.log").open("wb") as log:
            await store.append(events[:half], Submitter("test", "test"))
            async with pim_process(settings, log, "projector") as first:

                async def at_work() -> bool:
                    return await _checkpointed(pool) > 0

                await eventually(at_work, timeout_s=60, what="first projector at work")
                first.kill()  # SIGKILL: no leaving the group, no clean-up
                await first.wait()
            for start in range(half, len(events), 3):  # the ledger goes on while no projector runs
                await store.append(events[start : start + 3], Submitter("test", "test"))
            async with pim_process(settings, log, "projector") as second:
                await eventually(lambda: _caught_up(settings, pool), timeout_s=60, what="successor caught up")
                assert second.returncode is None, (tmp_path / "projector.log").read_text()
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
    async with pool.acquire() as conn:
        live = await snapshot(conn)
    await rebuild(pool, ProgressRules())
    async with pool.acquire() as conn:
        assert await snapshot(conn) == live
