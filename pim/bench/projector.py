"""`pim bench projector`: live consumption from Kafka and rebuild from the store, each beside the raw
limit measured in the same run (a raw aiokafka getmany loop over the same topic; one set-based SQL
statement computing the same unit-progress table)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console
from rich.table import Table

from pim.bench.ingest import PeakMemory
from pim.bench.year_to_date_sql import time_every_year_to_date
from pim.embedded import infrastructure
from services.ingest import Registry
from services.relay import Relay
from shared.bus import stop_consumer
from shared.db import create_pool, migrate
from shared.event_store import EventStore, Submitter
from shared.events import TargetSet, UnitRegistered
from shared.settings import Settings
from shared.topics import ensure_topics

CATEGORIES = ("central_budget", "local_budget", "oda", "other")
WEEKS = 50
COMMUNES_PER_DISTRICT = 100

# Bench data only: figure events written straight into the store by one statement (the ingest path is
# measured by `pim bench ingest`). Weekly cumulative disbursement, four capital sources per commune.
_GENERATE_FIGURES = """
WITH g AS (
    SELECT n, 'xa-' || lpad((((n - 1) / 4) % $2)::text, 5, '0') AS unit_code,
           (ARRAY['central_budget', 'local_budget', 'oda', 'other'])[(n - 1) % 4 + 1] AS category,
           ((n - 1) / (4 * $2))::int AS week
    FROM generate_series(1, $3) AS n
)
INSERT INTO events (position, event_id, stream_id, stream_version, event_type, schema_version, occurred_on,
                    submitted_by, channel, payload)
SELECT $1 + n, gen_random_uuid(), unit_code, 1000 + n, 'DisbursementReported', 1, date '2025-01-03' + week * 7,
       'bench', 'bench',
       jsonb_build_object('type', 'DisbursementReported', 'unit_code', unit_code, 'plan_year', 2025,
                          'category', category, 'project_code', NULL,
                          'as_of', to_char(date '2025-01-03' + week * 7, 'YYYY-MM-DD'), 'amount_kind', 'cumulative',
                          'amount', ((week + 1) * 1000000)::text, 'document_date', NULL)
FROM g
"""


@dataclass
class ProjectorBench:
    events: int
    units: int
    live_events_per_s: float
    live_seconds: float
    raw_getmany_msgs_per_s: float
    rebuild_events_per_s: float
    rebuild_seconds: float
    raw_sql_progress_seconds: float
    raw_sql_events_per_s: float
    relay_msgs_per_s: float
    catch_up_lag: int  # the projector's PIM_PROJECTOR_CATCH_UP_LAG: above it, a backlog is written from the store
    live_rss_peak_mb: float  # of the `pim projector` process
    rebuild_rss_peak_mb: float  # of the `pim projector rebuild` process
    machine: dict[str, Any] = field(default_factory=dict)


async def _load(pool: asyncpg.Pool, events: int) -> int:
    communes = max(1, events // (len(CATEGORIES) * WEEKS))
    districts = -(-communes // COMMUNES_PER_DISTRICT)
    registry = [UnitRegistered(unit_code="tinh", name="Tỉnh thử nghiệm", level="province", committee="UBKT")]
    registry += [
        UnitRegistered(unit_code=f"huyen-{d:03d}", name=f"Huyện {d}", level="district", parent_code="tinh",
                       committee="UBKT Tỉnh ủy")
        for d in range(districts)
    ]  # fmt: skip
    registry += [
        UnitRegistered(unit_code=f"xa-{c:05d}", name=f"Xã {c}", level="commune",
                       parent_code=f"huyen-{c // COMMUNES_PER_DISTRICT:03d}", committee="UBKT Huyện ủy")
        for c in range(communes)
    ]  # fmt: skip
    for start in range(0, len(registry), 5000):
        await Registry(pool).submit(registry[start : start + 5000], Submitter("bench", "bench"))
    targets = [
        TargetSet(unit_code=f"xa-{c:05d}", indicator="public_investment_disbursement", plan_year=2025,
                  amount=Decimal(WEEKS * 1_000_000 * 4))
        for c in range(communes)
    ]  # fmt: skip
    store = EventStore(pool)
    for start in range(0, len(targets), 5000):
        await store.append(targets[start : start + 5000], Submitter("bench", "bench"))
    figures = events - len(registry) - len(targets)
    async with pool.acquire() as conn, conn.transaction():
        head = await EventStore.lock(conn)
        await conn.execute(_GENERATE_FIGURES, head, communes, figures)
    return communes


async def raw_getmany(settings: Settings, topic: str, expected: int) -> float:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or set()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        seen, started = 0, time.perf_counter()
        while seen < expected:
            for batch in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                for message in batch:
                    json.loads(message.value)
                seen += len(batch)
        return seen / (time.perf_counter() - started)
    finally:
        await stop_consumer(consumer)


@contextlib.asynccontextmanager
async def _pim(
    settings: Settings, *command: str, **more_env: str
) -> AsyncIterator[tuple[asyncio.Task[None], PeakMemory]]:
    """Run `pim *command` as a process of its own, as in production, sampling its resident memory; yield a
    task that ends when it exits (raising if it failed). Stopped on leaving."""
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "KAFKA_BOOTSTRAP_SERVERS": str(settings.kafka_bootstrap_servers),
        "KAFKA_ENABLE_IDEMPOTENCE": str(settings.kafka_enable_idempotence).lower(),
        "PIM_TOPIC_PREFIX": settings.pim_topic_prefix,
        **more_env,
    }
    with tempfile.TemporaryFile() as errors:
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("pim")), *command, env=env, stdout=asyncio.subprocess.DEVNULL,
            stderr=errors,
        )  # fmt: skip

        async def exited() -> None:
            if await process.wait() != 0:
                errors.seek(0)
                raise RuntimeError(f"pim {' '.join(command)} failed:\n{errors.read().decode(errors='replace')}")

        task = asyncio.create_task(exited())
        try:
            with PeakMemory(process.pid) as memory:
                yield task, memory
        finally:
            if process.returncode is None:
                process.terminate()
            await asyncio.gather(task, return_exceptions=True)


async def _wait(predicate: Any, worker: asyncio.Task[None], what: str, timeout_s: float = 3600) -> None:
    deadline = time.monotonic() + timeout_s
    while not await predicate():
        if worker.done():
            worker.result()  # raises what stopped it
            raise RuntimeError(f"{what} stopped")
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.2)


async def run_projector_bench(settings: Settings, events: int, catch_up_lag: int, console: Console) -> ProjectorBench:
    async with infrastructure(settings) as ready:
        ready = ready.model_copy(update={"pim_topic_prefix": f"bench{int(time.time())}"})
        assert ready.database_url is not None
        await migrate(ready.database_url)
        await ensure_topics(ready)
        pool = await create_pool(ready.database_url, max_size=6)
        try:
            console.print(f"Loading {events:,} events into the store…")
            units = await _load(pool, events)
            total = await EventStore(pool).head()

            console.print("Relaying them to the ledger topic…")
            relay = asyncio.create_task(Relay(ready, pool).run())
            started = time.perf_counter()

            async def relayed() -> bool:
                async with pool.acquire() as conn:
                    return bool((await conn.fetchval("SELECT position FROM relay_state") or 0) >= total)

            await _wait(relayed, relay, "relay")
            relay_rate = total / (time.perf_counter() - started)
            relay.cancel()

            console.print("Raw aiokafka getmany over the ledger…")
            raw_rate = await raw_getmany(ready, ready.ledger_topic, total)

            console.print("Live: a `pim projector` process consumes the ledger into the read models…")
            started = time.perf_counter()
            lag = {"PIM_PROJECTOR_CATCH_UP_LAG": str(catch_up_lag)}
            async with _pim(ready, "projector", **lag) as (projector, live_memory):

                async def projected() -> bool:  # every event's facts written and the derived rows recomputed
                    async with pool.acquire() as conn:
                        return bool(await conn.fetchval(
                            "SELECT coalesce(sum(next_offset), 0) >= $1 AND NOT EXISTS (SELECT FROM projector_pending)"
                            " FROM projector_offsets", total))  # fmt: skip

                await _wait(projected, projector, "projector")
                live_seconds = time.perf_counter() - started

            console.print("Rebuild: `pim projector rebuild` from the store…")
            started = time.perf_counter()
            async with _pim(ready, "projector", "rebuild") as (rebuilder, rebuild_memory):
                await rebuilder
                rebuild_seconds = time.perf_counter() - started

            console.print("Raw: one set-based statement computing the unit-progress table…")
            raw_sql_seconds = await time_every_year_to_date(pool)
        finally:
            await pool.close()
    return ProjectorBench(
        events=total, units=units, live_events_per_s=round(total / live_seconds), live_seconds=round(live_seconds, 1),
        raw_getmany_msgs_per_s=round(raw_rate), rebuild_events_per_s=round(total / rebuild_seconds),
        rebuild_seconds=round(rebuild_seconds, 1), raw_sql_progress_seconds=round(raw_sql_seconds, 2),
        raw_sql_events_per_s=round(total / raw_sql_seconds), relay_msgs_per_s=round(relay_rate),
        catch_up_lag=catch_up_lag, live_rss_peak_mb=round(live_memory.peak_mb, 1),
        rebuild_rss_peak_mb=round(rebuild_memory.peak_mb, 1),
        machine={"cpus": os.cpu_count(), "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                 "broker": settings.pim_embedded_broker if settings.kafka_bootstrap_servers is None else "external"},
    )  # fmt: skip


def show(result: ProjectorBench, console: Console) -> None:
    table = Table(title=f"pim bench projector — {result.events:,} events, {result.units:,} units")
    for column in ("measure", "PIM", "raw limit, same run", "PIM / limit"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    live = "live, events/s" + (" (backlog from the store)" if result.events > result.catch_up_lag else "")
    table.add_row(live, f"{result.live_events_per_s:,.0f} ({result.live_seconds} s)",
                  f"{result.raw_getmany_msgs_per_s:,.0f} (aiokafka getmany)",
                  f"{result.live_events_per_s / result.raw_getmany_msgs_per_s:.1%}")  # fmt: skip
    raw_sql = f"{result.raw_sql_events_per_s:,.0f} (one SQL statement, {result.raw_sql_progress_seconds} s)"
    table.add_row("rebuild, events/s", f"{result.rebuild_events_per_s:,.0f} ({result.rebuild_seconds} s)", raw_sql,
                  f"{result.rebuild_events_per_s / result.raw_sql_events_per_s:.1%}")  # fmt: skip
    table.add_row("relay, messages/s", f"{result.relay_msgs_per_s:,.0f}", "", "")
    memory = f"projector {result.live_rss_peak_mb} MB, rebuild {result.rebuild_rss_peak_mb} MB"
    table.add_row("resident memory, peak", memory, "", "")
    console.print(table)


def save(result: ProjectorBench, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(dataclasses.asdict(result), indent=2) + "\n", encoding="utf-8")
