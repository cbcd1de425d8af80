"""kill -9 of a real `pim projector` process on the default broker while the ledger streams: its successor
resumes and the read models equal a fresh rebuild (noida-db never hands a killed group member's
partitions to a new one, so a consumer that waited on group membership stopped for good)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import IO

import asyncpg
import httpx
import pytest
from starlette.responses import JSONResponse, Response

from pim.embedded import free_port
from services.alerts.unit_year_facts import stale_evaluations
from services.relay import Relay
from shared.bus import make_producer
from shared.contracts import ProgressChanged
from shared.event_store import EventStore, Submitter
from shared.settings import Settings
from shared.topics import ensure_topics
from tests.integration.alert_fixtures import Clock, Facts, alerts_service
from tests.integration.ingest_fixtures import Ingest, disbursement
from tests.integration.projector_helpers import caught_up
from tests.integration.receivers import Received, http_receiver
from tests.integration.test_projection_order import assert_live_equals_a_rebuild, history
from tests.kafka_helpers import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
PIM = str(Path(sys.executable).with_name("pim"))


def service_env(settings: Settings, **more: str) -> dict[str, str]:
    """The environment a separate `pim` process needs to work on this test's database, broker and topics."""
    assert settings.database_url is not None and settings.kafka_bootstrap_servers is not None
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "PIM_TOPIC_PREFIX": settings.pim_topic_prefix,
        "PIM_API_PORT": "0",
        "PIM_ALERTS_API_PORT": "0",
        "PIM_BOARDS_API_PORT": "0",
        **more,
    }


@contextlib.asynccontextmanager
async def pim_process(
    settings: Settings, log: IO[bytes], *args: str, **env: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(PIM, *args, env=service_env(settings, **env), stdout=log, stderr=log)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def _checkpointed(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval("SELECT coalesce(sum(next_offset), 0) FROM projector_offsets"))


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
                await eventually(lambda: caught_up(settings, pool), timeout_s=60, what="successor caught up")
                assert second.returncode is None, (tmp_path / "projector.log").read_text()
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
    await assert_live_equals_a_rebuild(pool)


async def _metric(url: str, name: str, topic: str) -> float:
    """The sum of a FastStream metric over the handlers of `topic`, from a /metrics page (0 if absent)."""
    async with httpx.AsyncClient(timeout=5) as client:
        try:
            text = (await client.get(url)).text
        except httpx.HTTPError:
            return 0.0  # not serving yet
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{") and topic in line
    )


async def test_an_alerts_service_killed_with_kill_9_is_heard_by_its_successor(
    settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await ensure_topics(settings)
    await Facts(pool).registry()
    change = ProgressChanged(unit_code="lam-dong", indicator="public_investment_disbursement", plan_year=2025,
                             as_of=dt.date(2025, 3, 31), status="behind", version=1)  # fmt: skip
    producer = make_producer(settings)
    await producer.start()
    try:
        with (tmp_path / "alerts.log").open("wb") as log:
            for attempt in ("first", "successor"):
                port = free_port()
                metrics = f"http://127.0.0.1:{port}/metrics"
                async with pim_process(settings, log, "alerts", PIM_OPS_PORT=str(port)) as process:

                    async def heard(metrics: str = metrics) -> bool:
                        # "latest": a message sent before the consumer found its position is not read, so
                        # keep sending until one is.
                        await producer.send_and_wait(settings.progress_topic, change.model_dump_json().encode())
                        return await _metric(metrics, "faststream_received_messages_total", "progress") > 0

                    await eventually(heard, timeout_s=45, what=f"the {attempt} alerts service hearing progress")
                    assert process.returncode is None, (tmp_path / "alerts.log").read_text()
                    if attempt == "first":
                        process.kill()  # SIGKILL: it never leaves a consumer group
                        await process.wait()
    finally:
        await producer.stop()


async def test_raw_intake_killed_with_kill_9_is_resumed_and_stores_each_message_once(
    settings: Settings, ingest: Ingest, tmp_path: Path
) -> None:
    await ensure_topics(settings)
    token = ingest.lam_dong["Authorization"].encode()
    producer = make_producer(settings)
    await producer.start()

    async def send(numbers: range) -> None:
        for n in numbers:  # one figure per message, each of its own project: each is stored once or not
            body = {"disbursements": [disbursement(project_code=f"DA-{n:03d}", amount=str(1000 + n))]}
            await producer.send_and_wait(settings.raw_topic, json.dumps(body).encode(), key=f"{n}".encode(),
                                         headers=[("authorization", token)])  # fmt: skip

    async def stored() -> int:
        async with ingest.pool.acquire() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM events WHERE event_type = 'DisbursementReported'"))

    try:
        await send(range(20))
        with (tmp_path / "ingest.log").open("wb") as log:
            async with pim_process(settings, log, "ingest") as first:

                async def some_stored() -> bool:
                    return await stored() >= 3

                await eventually(some_stored, timeout_s=60, what="the first raw intake at work")
                first.kill()
                await first.wait()
            await send(range(20, 40))
            async with pim_process(settings, log, "ingest") as second:

                async def all_stored() -> bool:
                    assert second.returncode is None, (tmp_path / "ingest.log").read_text()
                    return await stored() >= 40

                await eventually(all_stored, timeout_s=60, what="every message stored after the restart")
    finally:
        await producer.stop()
    async with ingest.pool.acquire() as conn:
        per_message = await conn.fetch(
            "SELECT payload->>'project_code' AS project, count(*) AS n FROM events"
            " WHERE event_type = 'DisbursementReported' GROUP BY 1"
        )
    assert len(per_message) == 40 and {r["n"] for r in per_message} == {1}  # none lost, none twice


async def test_alert_deliveries_survive_a_kill_9_repeated_perhaps_never_skipped(
    settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """A slow committee webhook; `pim alerts` killed with kill -9 while it delivers; its successor delivers
    the rest: every alert event reaches the receiver, each under its one idempotency key."""
    await ensure_topics(settings)
    facts = Facts(pool)
    await facts.registry()
    await facts.report("lam-dong", 3, 60)
    await facts.report("da-lat", 3, 30)

    def slow(_: Received, __: list[Received]) -> Response:
        time.sleep(0.3)  # a receiver that takes its time: the kill lands between deliveries
        return JSONResponse({"ok": True})

    async with http_receiver(slow) as receiver:
        env = {"PIM_ALERT_WEBHOOK_URL": f"{receiver.url}/hook", "PIM_ALERT_WEBHOOK_SECRET": "bí-mật",
               "PIM_ALERTS_TODAY": "2025-04-03"}  # fmt: skip
        with (tmp_path / "alerts.log").open("wb") as log:
            async with pim_process(settings, log, "alerts", **env) as first:
                await receiver.wait_for(lambda seen: len(seen) >= 1, timeout_s=60)
                first.kill()
                await first.wait()
            async with pim_process(settings, log, "alerts", **env):

                async def all_delivered() -> bool:  # every unit evaluated, and what that raised delivered
                    async with pool.acquire() as conn:
                        if await stale_evaluations(conn, dt.date(2025, 4, 3)):
                            return False
                        return not await conn.fetchval(
                            "SELECT count(*) FROM alert_outbox WHERE channel = 'webhook' AND delivered_at IS NULL"
                        )

                await eventually(all_delivered, timeout_s=90, what="every webhook delivery made")
    async with pool.acquire() as conn:
        expected = {r["key"] for r in await conn.fetch(
            "SELECT payload->>'idempotency_key' AS key FROM alert_outbox WHERE channel = 'webhook'")}  # fmt: skip
    received = [r.headers["idempotency-key"] for r in receiver.requests]
    assert len(expected) >= 2 and set(received) == expected  # none skipped; a repeat has the same key


async def test_a_missed_deadline_escalates_once_across_a_kill_9_of_the_alerts_service(
    settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """An explanation due Monday 12 May is not given: `pim alerts` started on the 13th escalates it and is
    killed with kill -9; its successor, a day later, finds the deadline escalated and does not again."""
    await ensure_topics(settings)
    facts = Facts(pool)
    await facts.registry()
    await facts.report("da-lat", 3, 60)
    asking = alerts_service(settings, pool, Clock(dt.date(2025, 5, 5)))
    await asking.sweep()
    theirs = "da-lat/public_investment_disbursement/below_pace/2025"
    await asking.request_explanation(theirs, "UBKT Lâm Đồng")

    async def escalations() -> int:
        async with pool.acquire() as conn:
            return int(await conn.fetchval(
                "SELECT count(*) FROM events WHERE event_type = 'AlertEscalated'"
                " AND payload->>'deadline' = 'explanation'"
            ))  # fmt: skip

    with (tmp_path / "alerts.log").open("wb") as log:
        async with pim_process(settings, log, "alerts", PIM_ALERTS_TODAY="2025-05-13") as first:
            await eventually(lambda: _at_least(escalations, 1), timeout_s=60, what="the missed deadline escalated")
            first.kill()  # SIGKILL, right after
            await first.wait()
        async with pim_process(settings, log, "alerts", PIM_ALERTS_TODAY="2025-05-14"):

            async def evaluated_again() -> bool:  # the successor's sweep of the 14th has run
                async with pool.acquire() as conn:
                    return not await stale_evaluations(conn, dt.date(2025, 5, 14))

            await eventually(evaluated_again, timeout_s=60, what="every unit evaluated on the 14th")
    assert await escalations() == 1


async def _at_least(count: Callable[[], Awaitable[int]], n: int) -> bool:
    return await count() >= n
