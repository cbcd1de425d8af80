"""All the faults at once, on the default embedded broker, against real `pim` processes: reports stream over
HTTP while every service is killed with kill -9 at a random moment (and started again), the broker loses
everything twice and PostgreSQL restarts. Afterwards, within a deadline: every accepted report is in the
store once, the read models equal a fresh rebuild (the projector's and the alerts'), every alert the
outbox holds reached the committee's webhook (a repeat under the same idempotency key), and every
process is still running. The moments are drawn from a seed printed on failure (PIM_FAULT_SEED replays one).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import os
import random
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import pytest

from pim.embedded import EmbeddedKafka, free_port
from services.alerts import stale_evaluations
from services.alerts.rebuild import rebuild_alerts
from services.projector.progress_rules import ProgressRules
from services.projector.rebuild import rebuild
from shared.auth import create_token
from shared.db import connected, create_pool, migrate
from shared.event_store import EventStore
from shared.settings import Settings
from shared.topics import ensure_topics
from tests.integration.ingest_fixtures import UNITS
from tests.integration.projector_helpers import caught_up
from tests.integration.receivers import http_receiver
from tests.integration.test_crash_recovery import PIM, service_env
from tests.integration.test_postgres_restart import RestartablePostgres
from tests.integration.test_projection_order import differences, snapshot
from tests.kafka_helpers import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
SERVICES = ("ingest", "relay", "projector", "alerts")
TODAY = dt.date(2025, 7, 15)  # past the 30 June milestone: units far below it are flagged
CATEGORIES = ("central_budget", "local_budget", "oda", "other")
# Cumulative share of each unit's target by the end of each month: Lâm Đồng and Đà Lạt lag, Huế keeps pace.
SHARE = {"lam-dong": 0.02, "da-lat": 0.03, "hue": 0.09}
TARGET = 12_000_000_000_000


class Fleet:
    """The four services as processes of their own, each restartable after a kill -9."""

    def __init__(self, settings: Settings, log: IO[bytes], env: dict[str, str]) -> None:
        self._settings, self._log, self._env = settings, log, env
        self.processes: dict[str, asyncio.subprocess.Process] = {}

    async def start(self, name: str) -> None:
        self.processes[name] = await asyncio.create_subprocess_exec(
            PIM, name, env=service_env(self._settings, **self._env), stdout=self._log, stderr=self._log
        )

    async def kill_and_restart(self, name: str) -> None:
        self.processes[name].kill()  # SIGKILL: no clean-up of any kind
        await self.processes[name].wait()
        await self.start(name)

    def exited(self) -> dict[str, int | None]:
        return {name: p.returncode for name, p in self.processes.items() if p.returncode is not None}

    async def stop(self, grace_s: float = 20) -> None:
        """SIGTERM, and SIGKILL for a process still running after the grace: none outlives the test."""
        for process in self.processes.values():
            if process.returncode is None:
                process.terminate()
        try:
            async with asyncio.timeout(grace_s):
                await asyncio.gather(*(p.wait() for p in self.processes.values()))
        except TimeoutError:
            for process in self.processes.values():
                if process.returncode is None:
                    process.kill()
            await asyncio.gather(*(p.wait() for p in self.processes.values()))


@contextlib.asynccontextmanager
async def own_servers() -> AsyncIterator[tuple[RestartablePostgres, Callable[[], Awaitable[None]], Settings]]:
    """A PostgreSQL and a broker of this test's own (restartable; the broker can lose everything)."""
    folder = Path(tempfile.mkdtemp(prefix="pim-faults-"))
    postgres = RestartablePostgres(folder / "postgres")
    await asyncio.to_thread(postgres.start)
    brokers = [EmbeddedKafka(Settings().pim_embedded_broker, folder / "broker-0")]
    bootstrap = await brokers[0].start()

    async def lose_the_broker() -> None:
        brokers[-1].stop()
        brokers.append(
            EmbeddedKafka(Settings().pim_embedded_broker, folder / f"broker-{len(brokers)}", port=brokers[-1].port)
        )
        await brokers[-1].start()  # same port, empty data

    settings = Settings().model_copy(
        update={"database_url": postgres.dsn, "kafka_bootstrap_servers": bootstrap, "pim_topic_prefix": "faults"}
    )
    try:
        yield postgres, lose_the_broker, settings
    finally:
        brokers[-1].stop()
        await asyncio.to_thread(postgres.close)
        shutil.rmtree(folder, ignore_errors=True)


async def send(client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str, deadline_s: float = 120) -> None:
    """POST until accepted, re-sending under the same idempotency key through every outage."""
    deadline = asyncio.get_running_loop().time() + deadline_s
    while True:
        try:
            answer = await client.post(path, json=body, headers={"Idempotency-Key": key})
            if answer.status_code in (200, 201):
                return
            assert answer.status_code == 503, f"{path} {key}: {answer.status_code} {answer.text}"
        except httpx.TransportError:
            pass  # the API is being killed, or not yet up again
        assert asyncio.get_running_loop().time() < deadline, f"{key} never accepted"
        await asyncio.sleep(0.2)  # a client's retry interval


def reports() -> list[tuple[str, dict[str, Any]]]:
    """Monthly cumulative disbursement per unit and capital source, January to June: 72 reports."""
    out = []
    for month in range(1, 7):
        as_of = (dt.date(2025, month + 1, 1) - dt.timedelta(days=1)).isoformat()  # the month's last day
        for unit, share in SHARE.items():
            for category in CATEGORIES:
                amount = TARGET * share * month // (6 * len(CATEGORIES))
                line = {"unit_code": unit, "plan_year": 2025, "category": category, "as_of": as_of,
                        "amount": str(int(amount))}  # fmt: skip
                out.append((f"r-{unit}-{category}-{month}", {"disbursements": [line]}))
    return out


BUDGET_S = 250  # the whole run, streaming and settling: under pytest-timeout's 300 s, so a hang fails here


async def test_every_fault_at_once_nothing_lost_nothing_twice_everything_settles(tmp_path: Path) -> None:
    seed = int(os.environ.get("PIM_FAULT_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    async with own_servers() as (postgres, lose_the_broker, settings), http_receiver() as receiver:
        await migrate(postgres.dsn)
        await ensure_topics(settings)
        async with connected(postgres.dsn) as conn:
            token = await create_token(conn, "faults", "admin")
        api_port = free_port()
        env = {"PIM_API_PORT": str(api_port), "PIM_ALERT_WEBHOOK_URL": f"{receiver.url}/hook",
               "PIM_ALERT_WEBHOOK_SECRET": "bí-mật", "PIM_ALERTS_TODAY": TODAY.isoformat(),
               "PIM_BOARDS_API_PORT": str(free_port())}  # fmt: skip
        all_reports = reports()
        with (tmp_path / "services.log").open("wb") as log:
            fleet = Fleet(settings, log, env)
            faults = _faults(fleet, lose_the_broker, postgres)
            rng.shuffle(faults)
            moments = sorted(rng.sample(range(4, len(all_reports) - 4), len(faults)))
            context = f"seed {seed}; faults {[f for f, _ in faults]} at reports {moments}; log {log.name}"
            for name in SERVICES:
                await fleet.start(name)
            client = httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{api_port}", headers={"Authorization": f"Bearer {token}"}, timeout=20
            )
            pool: asyncpg.Pool | None = None
            phase = "streaming the reports"
            budget = asyncio.timeout(BUDGET_S)
            try:
                try:
                    async with budget:
                        schedule = list(zip(faults, moments, strict=True))
                        try:
                            accepted = await _stream_with_faults(client, all_reports, schedule, log)
                        except AssertionError as error:
                            raise AssertionError(f"{error}; {context}") from error
                        phase = "waiting for the pipeline to settle"
                        pool = await create_pool(postgres.dsn, max_size=4)
                        settled = functools.partial(_settled, settings, pool, fleet)
                        await eventually(settled, timeout_s=BUDGET_S, what="settled")  # the budget ends first
                except TimeoutError:
                    if not budget.expired():
                        raise
                    log.flush()
                    raise AssertionError(f"{phase}: not done in {BUDGET_S} s; {context}\n{_tail(log.name)}") from None
                assert not fleet.exited(), f"services exited: {fleet.exited()}; {context}"
                await fleet.stop()
                await _assert_once_each_and_equal_to_a_rebuild(pool, accepted, len(all_reports), context)
                async with pool.acquire() as conn:
                    expected = {r["key"] for r in await conn.fetch(WEBHOOK_KEYS)}
                    flagged = await conn.fetchval("SELECT count(DISTINCT unit_code) FROM alerts")
            finally:
                await client.aclose()
                await fleet.stop()
                if pool is not None:
                    await pool.close()
        received = {r.headers["idempotency-key"] for r in receiver.requests}
        assert flagged >= 2 and expected and received == expected, context  # none skipped, a repeat shares its key


def _tail(log: str, lines: int = 40) -> str:
    """The services' last log lines: what they were doing when the budget ran out."""
    return "\n".join(Path(log).read_text(errors="replace").splitlines()[-lines:])


WEBHOOK_KEYS = "SELECT payload->>'idempotency_key' AS key FROM alert_outbox WHERE channel = 'webhook'"


async def _stream_with_faults(
    client: httpx.AsyncClient,
    all_reports: list[tuple[str, dict[str, Any]]],
    schedule: list[tuple[tuple[str, Callable[[], Awaitable[None]]], int]],
    log: IO[bytes],
) -> list[str]:
    """Register the units and their targets, then send the reports from two clients at once while each
    fault strikes once its moment (a number of reports accepted) has come; return the keys accepted."""
    await send(client, "/v1/units", {"units": UNITS}, "units")
    targets = [{"unit_code": u, "indicator": "public_investment_disbursement", "plan_year": 2025,
                "amount": str(TARGET)} for u in SHARE]  # fmt: skip
    await send(client, "/v1/targets", {"targets": targets}, "targets")
    accepted: list[str] = []

    async def stream(share: list[tuple[str, dict[str, Any]]]) -> None:
        for key, body in share:
            await send(client, "/v1/figures", body, key)
            accepted.append(key)

    async def inject() -> None:
        for (what, fault), moment in schedule:

            async def reached(moment: int = moment) -> bool:
                return len(accepted) >= moment

            await eventually(reached, timeout_s=180, what=f"report {moment} accepted")
            log.write(f"--- fault at report {moment}: {what}\n".encode())
            log.flush()
            await fault()

    await asyncio.gather(stream(all_reports[0::2]), stream(all_reports[1::2]), inject())
    return accepted


async def _settled(settings: Settings, pool: asyncpg.Pool, fleet: Fleet) -> bool:
    """Relayed, projected, every unit evaluated, every webhook delivery made, and nothing stored while it looked
    (an evaluation committing between the reads once passed for settled, its alerts not yet projected); a
    service that exited is reported at once rather than after the deadline."""
    assert not fleet.exited(), f"services exited: {fleet.exited()}"
    store = EventStore(pool)
    before = await store.head()
    if not await caught_up(settings, pool):
        return False
    async with pool.acquire() as conn:  # after: what the projector's last recompute made stale is seen
        if await stale_evaluations(conn, TODAY):
            return False
        undelivered = "SELECT count(*) FROM alert_outbox WHERE channel = 'webhook' AND delivered_at IS NULL"
        if await conn.fetchval(undelivered):
            return False
        return await store.head(conn) == before


async def _assert_once_each_and_equal_to_a_rebuild(
    pool: asyncpg.Pool, accepted: list[str], reports: int, context: str
) -> None:
    async with pool.acquire() as conn:
        keys = [r["idempotency_key"] for r in await conn.fetch("SELECT idempotency_key FROM submissions")]
        figures = await conn.fetchval("SELECT count(*) FROM events WHERE event_type = 'DisbursementReported'")
        live = await snapshot(conn)
        live_alerts = sorted(tuple(r) for r in await conn.fetch("SELECT * FROM alerts"))
    assert set(accepted) <= set(keys) and len(accepted) == reports, context  # every accepted report stored
    assert len(keys) == len(set(keys)) and figures == reports, context  # and once only
    await rebuild(pool, ProgressRules())
    await rebuild_alerts(pool)
    async with pool.acquire() as conn:
        rebuilt = await snapshot(conn)
        rebuilt["alerts"] = sorted(tuple(r) for r in await conn.fetch("SELECT * FROM alerts"))
    live["alerts"] = live_alerts
    assert rebuilt == live, f"{context}\n{differences(live, rebuilt)}"


def _faults(
    fleet: Fleet, lose_the_broker: Callable[[], Awaitable[None]], postgres: RestartablePostgres
) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
    def kill(name: str) -> Callable[[], Awaitable[None]]:
        return lambda: fleet.kill_and_restart(name)

    async def restart_postgres() -> None:
        await asyncio.to_thread(postgres.stop_now)
        await asyncio.to_thread(postgres.start_again)

    return [
        *((f"kill -9 {name}", kill(name)) for name in SERVICES),
        ("broker loses everything", lose_the_broker),
        ("broker loses everything again", lose_the_broker),
        ("PostgreSQL restarts", restart_postgres),
    ]
