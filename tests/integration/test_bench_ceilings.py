"""The bench's ceilings read real CPU: the API's processes, the database server's (found from one of its
backends, when it runs on this machine) and the load generator's own, per report."""

from __future__ import annotations

import asyncio
import os
import sys
import time

import asyncpg
import pytest

from pim.bench.ceilings import CpuMeter

pytestmark = pytest.mark.postgres

# Burns a fifth of a second of its own CPU, says so, then waits to be ended: its time is there to be read.
BURNER = "import sys, time\nwhile time.process_time() < 0.2: pass\nprint('burnt', flush=True)\nsys.stdin.read()"


async def test_the_meter_reads_each_process_cpu_per_report(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        meter = CpuMeter(await conn.fetchval("SELECT pg_backend_pid()"))
        api = await asyncio.create_subprocess_exec(
            sys.executable, "-c", BURNER, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        try:
            meter.start([api.pid])
            assert api.stdout is not None and await api.stdout.readline() == b"burnt\n"
            await conn.fetchval("SELECT count(*) FROM generate_series(1, 3000000)")  # the server's CPU, not ours
            mine = time.process_time()
            while time.process_time() - mine < 0.1:  # the load generator's
                pass
            spent = meter.stop(reports=10)
        finally:
            await api.communicate(b"")
    assert spent.api_ms >= 0.2 * 1000 / 10 * 0.9  # its fifth of a second over ten reports (ticks round it)
    assert spent.load_ms >= 0.1 * 1000 / 10 * 0.9
    assert spent.database_ms is not None and spent.database_ms > 0
    assert spent.total_ms == spent.api_ms + spent.database_ms + spent.load_ms


def test_a_database_not_on_this_machine_is_not_counted() -> None:
    meter = CpuMeter(os.getpid())  # no PostgreSQL backend: as a remote server's pid would be, here
    meter.start([])
    assert meter.stop(reports=1).database_ms is None
