"""A dependency going away makes a service wait and retry, never stop (issue: no outage of one dependency
stops another service)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import asyncpg
import pytest

from pim.embedded import free_port
from services.alerts.delivery import AlertmanagerSender
from services.alerts.runtime import AlertsRuntime
from shared.settings import Settings
from tests.integration.alert_fixtures import Clock, Facts, alerts_service
from tests.kafka_helpers import eventually

pytestmark = pytest.mark.postgres


async def test_alertmanager_unreachable_does_not_stop_the_sweeps(settings: Settings, pool: asyncpg.Pool) -> None:
    facts = Facts(pool)
    await facts.registry()
    await facts.report("lam-dong", 3, 60)  # 6 % against a pace of ~20 %: an alert to raise
    service = alerts_service(settings, pool, Clock(dt.date(2025, 5, 3)))
    runtime = AlertsRuntime(settings, pool, service)
    sweeps = 0
    sweep = service.sweep

    async def counted_sweep(today: dt.date | None = None) -> list:  # type: ignore[type-arg]
        nonlocal sweeps
        sweeps += 1
        return await sweep(today)

    service.sweep = counted_sweep  # type: ignore[method-assign]
    ticking = asyncio.create_task(runtime._tick(0.05, AlertmanagerSender(f"http://127.0.0.1:{free_port()}")))
    try:

        async def swept_again() -> bool:
            assert not ticking.done(), ticking.exception()
            return sweeps >= 3

        await eventually(swept_again, timeout_s=30, what="three sweeps with Alertmanager away")
        async with pool.acquire() as conn:  # and the sweeps did their work meanwhile
            assert await conn.fetchval("SELECT count(*) FROM alerts WHERE unit_code = 'lam-dong'") > 0
    finally:
        ticking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticking
