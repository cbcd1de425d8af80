"""`pim bench ingest` interrupted (Ctrl-C reaches every process of the terminal's group): it must end, not
wait for ever on a result its interrupted probe process will never send. It once ran on for 25 minutes."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import asyncpg
import psutil
import pytest

from pim.bench.ingest import bench_units, during_import, register_units, write_figures_csv
from shared.event_store import EventStore
from shared.settings import Settings
from tests.kafka_helpers import eventually

pytestmark = pytest.mark.postgres

ROWS = 2_000


def _spawned() -> list[psutil.Process]:
    """This test's processes started by multiprocessing's spawn (the probe and its API servers)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if any("spawn_main" in part for part in child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    return found


async def _waiting_on_a_lock(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"))


async def test_an_interrupted_probe_ends_the_phase_with_an_error(
    settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    assert settings.database_url is not None
    token = await register_units(pool, bench_units(ROWS))
    path = tmp_path / "figures.csv"
    write_figures_csv(path, ROWS)
    async with pool.acquire() as holder, holder.transaction():
        # The import waits on a unit this test holds, so the interruption surely comes while it runs.
        await EventStore.lock_streams(holder, ["xa-00000"])
        phase = asyncio.create_task(during_import(settings.database_url, token, 25, path, ROWS, offset=10**7))
        async with pool.acquire() as watcher:
            await eventually(lambda: _waiting_on_a_lock(watcher), 60, "the import waiting on the held unit")
        for process in _spawned():  # as Ctrl-C in the terminal would: the probe and its servers
            process.send_signal(signal.SIGINT)
    # The import now goes on and ends; the probe, interrupted, has no result to give.
    with pytest.raises(RuntimeError, match="ended without a result"):
        await asyncio.wait_for(phase, 60)
    await eventually(lambda: _none_left(), 15, "every spawned process ended")


async def _none_left() -> bool:
    return not _spawned()
