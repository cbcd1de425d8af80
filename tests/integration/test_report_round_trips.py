"""What one single report costs in round trips to PostgreSQL: at a few hundred reports a second, each round
trip is a write and a read on a socket for the API's process and a message for the server, and they were
the larger part of a report's cost (the profile of `pim bench ingest`'s ladder, issue 28)."""

from __future__ import annotations

import re
import traceback
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from services.ingest.bootstrap import create_app
from shared.auth import create_token
from shared.db import create_pool
from shared.settings import Settings
from tests.integration.ingest_fixtures import TODAY, UNITS, disbursement

pytestmark = pytest.mark.postgres

CONNECTIONS = 4
PIM_CODE = re.compile(r"/(services|shared)/")


class Writes:
    """The writes the pool's connections make, each with the PIM code that made it: a round trip is one write
    (asyncpg sends a statement's messages together; a COPY takes three)."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def wrap(self, write: Callable[[Any], None]) -> Callable[[Any], None]:
        def counted(data: Any) -> None:
            frames = traceback.extract_stack()[:-1]
            self.made.append(" < ".join(f"{f.name}:{f.lineno}" for f in frames[-12:] if PIM_CODE.search(f.filename)))
            write(data)

        return counted


@pytest.fixture
async def counted_pool(settings: Settings) -> AsyncIterator[tuple[asyncpg.Pool, Writes]]:
    assert settings.database_url is not None
    pool = await create_pool(settings.database_url, min_size=CONNECTIONS, max_size=CONNECTIONS)
    writes = Writes()
    held = [await pool.acquire() for _ in range(CONNECTIONS)]
    for conn in held:
        transport = conn._con._transport
        transport.write = writes.wrap(transport.write)
    for conn in held:
        await pool.release(conn)
    yield pool, writes
    await pool.close()


async def _report(client: httpx.AsyncClient, headers: dict[str, str], key: str, as_of: str) -> httpx.Response:
    body = {"disbursements": [disbursement("da-lat", "1000", as_of)]}
    return await client.post("/v1/figures", json=body, headers=headers | {"Idempotency-Key": key})


async def test_a_single_report_takes_at_most_nineteen_round_trips(counted_pool: tuple[asyncpg.Pool, Writes]) -> None:
    pool, writes = counted_pool
    async with pool.acquire() as conn:
        token = await create_token(conn, "so-tai-chinh-lam-dong", "department", ["lam-dong"])
        admin = await create_token(conn, "admin", "admin")
    app = create_app(pool, clock=lambda: TODAY)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pim") as client:
        registered = await client.post("/v1/units", json={"units": UNITS}, headers={"Authorization": f"Bearer {admin}"})
        assert registered.status_code == 201, registered.text
        headers = {"Authorization": f"Bearer {token}"}
        # Statements prepared once: the connection's first report creates its staging tables, so the statement
        # emptying them is prepared by the second.
        for key, as_of in (("warm", "2025-05-31"), ("warm again", "2025-06-30")):
            assert (await _report(client, headers, key, as_of)).status_code == 201
        writes.made.clear()
        answer = await _report(client, headers, "counted", "2025-07-31")
    assert answer.status_code == 201, answer.text
    assert len(answer.json()["event_ids"]) == 1
    # The token's check; the report staged, its units locked, checked, its figures remembered, then appended
    # with its receipt, idempotency record and ids in one statement, all in one transaction; each
    # connection's reset as the pool takes it back. 31 before (two transactions with a re-check between them,
    # a COPY, the head, the append and the receipt apart, the ids read on a second connection).
    assert len(writes.made) <= 19, "\n".join(writes.made)
