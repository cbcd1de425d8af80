"""A committee's action and an evaluation of the same unit take their locks in the same order: the unit's
stream first (as every writer to the store does, shared/locks.py), then the alert's row. The action took the
row first and then the stream, while an evaluation holding the stream updated the row: a deadlock, which
PostgreSQL broke by failing one of them (seen once in the demo: an evaluation of Lâm Đồng failed while the
review story asked its head to explain)."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import pytest

from shared import locks
from shared.settings import Settings
from tests.integration.alert_fixtures import DISB, Clock, Facts, alerts_service
from tests.kafka_helpers import eventually

pytestmark = pytest.mark.postgres

THEIRS = f"da-lat/{DISB}/below_pace/2025"


async def test_an_action_waits_for_the_units_stream_before_it_holds_the_alert(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    facts, clock = Facts(pool), Clock(dt.date(2025, 5, 5))
    service = alerts_service(settings, pool, clock)
    await facts.registry()
    await facts.report("da-lat", 3, 60)
    await service.sweep()
    async with pool.acquire() as evaluation, evaluation.transaction():
        # An evaluation of Đà Lạt that has appended (it holds the unit's stream until it commits)...
        await evaluation.execute(locks.STORE_STREAMS, ["da-lat"])
        asking = asyncio.create_task(service.request_explanation(THEIRS, "UBKT Lâm Đồng"))

        async def action_waits() -> bool:
            query = (
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            return bool(await evaluation.fetchval(query))

        await eventually(action_waits, timeout_s=20, what="the action waiting for a lock")
        # ... then updates the alert's row: it must not find the action holding it.
        await evaluation.execute("SET LOCAL lock_timeout = '5s'")
        await evaluation.execute("SELECT 1 FROM alerts WHERE fingerprint = $1 FOR UPDATE", THEIRS)
    asked = await asyncio.wait_for(asking, 20)
    assert asked.fingerprint == THEIRS
