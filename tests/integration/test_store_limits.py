"""The bench's measures of the event store's own limits write real event rows (their shape the `events`
table's, constraints included) into a scratch table, and leave nothing behind."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg
import pytest

from pim.bench.store_limits import SCRATCH, measure_single_appends, measure_store_copy

pytestmark = pytest.mark.postgres


async def test_the_store_limits_measure_real_event_rows_and_leave_nothing(pool: asyncpg.Pool) -> None:
    figures = [(n, "public_investment_disbursement", f"xa-{n:05d}", 2025, "oda", "", dt.date(2025, 6, 30),
                "cumulative", Decimal(n * 1000), None) for n in range(2, 2002)]  # fmt: skip
    assert await measure_store_copy(pool, figures) > 0
    assert await measure_single_appends(pool, seconds=0.5) > 0
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT to_regclass($1)", SCRATCH) is None
        assert await conn.fetchval("SELECT count(*) FROM events") == 0  # the store itself untouched
