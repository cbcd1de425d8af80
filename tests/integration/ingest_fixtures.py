"""A running ingest API (in-process ASGI, real PostgreSQL) with a small registry and tokens."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from services.ingest.bootstrap import create_app
from services.projector.api import create_projector_app
from services.projector.progress_rules import ProgressRules
from shared.auth import create_token

TODAY = dt.date(2025, 11, 15)
UNITS = [
    {"unit_code": "lam-dong", "name": "Tỉnh Lâm Đồng", "level": "province", "committee": "Ủy ban Kiểm tra Trung ương"},
    {"unit_code": "da-lat", "name": "Thành phố Đà Lạt", "level": "district", "parent_code": "lam-dong",
     "committee": "Ủy ban Kiểm tra Tỉnh ủy Lâm Đồng"},
    {"unit_code": "hue", "name": "Thành phố Huế", "level": "province", "committee": "Ủy ban Kiểm tra Trung ương"},
]  # fmt: skip


@dataclass
class Ingest:
    client: httpx.AsyncClient
    pool: asyncpg.Pool
    admin: dict[str, str]
    lam_dong: dict[str, str]  # a department token scoped to Lâm Đồng (and Đà Lạt below it)
    projector: httpx.AsyncClient  # the projector's API on the same database: the lists, read by their owner

    async def figures(
        self, *rows: dict[str, Any], headers: dict[str, str] | None = None, **params: Any
    ) -> httpx.Response:
        body: dict[str, list[dict[str, Any]]] = {"disbursements": [], "revenues": [], "corrections": []}
        for row in rows:
            kind = row.pop("kind", "disbursements")
            body[kind].append(row)
        return await self.client.post(
            "/v1/figures", json=body, headers=self.admin if headers is None else headers, params=params
        )

    async def event_count(self) -> int:
        async with self.pool.acquire() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM events"))


def disbursement(
    unit: str = "lam-dong", amount: object = "1000", as_of: str = "2025-06-30", **more: Any
) -> dict[str, Any]:
    return {
        "unit_code": unit,
        "plan_year": 2025,
        "category": "central_budget",
        "as_of": as_of,
        "amount": amount,
        **more,
    }


def projector_client(pool: asyncpg.Pool) -> httpx.AsyncClient:
    """The projector's API (the boards'), in-process: the lists, reporting, units' years, leaders, the pack."""
    app = create_projector_app(pool, ProgressRules())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://boards")


async def waiting_on_locks(pool: asyncpg.Pool, at_least: int = 1, *, for_s: float = 0.0) -> bool:
    """At least `at_least` of the database's connections waiting on a lock, each for `for_s` seconds or more."""
    async with pool.acquire() as conn:
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            " AND clock_timestamp() - query_start >= make_interval(secs => $1)",
            for_s,
        )
    return int(waiting) >= at_least


@pytest.fixture
async def ingest(pool: asyncpg.Pool) -> AsyncIterator[Ingest]:
    app = create_app(pool, clock=lambda: TODAY)
    async with pool.acquire() as conn:
        admin = await create_token(conn, "admin", "admin")
        lam_dong = await create_token(conn, "so-tai-chinh-lam-dong", "department", ["lam-dong"])
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://pim") as client,
        projector_client(pool) as projector,
    ):
        tester = Ingest(
            client, pool, {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {lam_dong}"}, projector
        )
        response = await client.post("/v1/units", json={"units": UNITS}, headers=tester.admin)
        assert response.status_code == 201, response.text
        yield tester
