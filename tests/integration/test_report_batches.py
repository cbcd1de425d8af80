"""Single reports committed several to a transaction (services/ingest/report_batches.py), against a real
PostgreSQL: while the writers are busy the reports waiting are written together, each still a submission of
its own; a report that is not clean, or was sent before, is answered as it would be alone; and a writer held
up on a unit's lock does not hold the other reports up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from services.ingest import report_batches
from shared.event_store import EventStore
from tests.integration.ingest_fixtures import Ingest, disbursement, waiting_on_locks
from tests.kafka_helpers import eventually

pytestmark = pytest.mark.postgres

COMMUNES = [f"xa-{n:02d}" for n in range(24)]
HELD = COMMUNES[: report_batches.WRITERS]  # one report for each keeps a writer busy, waiting for its unit
OTHERS = COMMUNES[report_batches.WRITERS :]


@pytest.fixture
async def communes(ingest: Ingest) -> Ingest:
    units = [{"unit_code": c, "name": f"Xã Số {c[3:]}", "level": "commune", "parent_code": "lam-dong",
              "committee": "Ủy ban Kiểm tra Tỉnh ủy Lâm Đồng"} for c in COMMUNES]  # fmt: skip
    answer = await ingest.client.post("/v1/units", json={"units": units}, headers=ingest.admin)
    assert answer.status_code == 201, answer.text
    return ingest


@contextlib.asynccontextmanager
async def units_held(pool: asyncpg.Pool, units: list[str]) -> AsyncIterator[None]:
    """Another transaction writing `units` (as a file import does) until the block ends."""
    async with pool.acquire() as conn, conn.transaction():
        await EventStore.lock_streams(conn, units)
        yield


def report(
    unit: str, amount: str = "1000", key: str | None = None, as_of: str = "2025-06-30"
) -> tuple[dict[str, Any], dict[str, str]]:
    return {"disbursements": [disbursement(unit, amount, as_of)]}, {"Idempotency-Key": key or f"k-{unit}"}


async def send(ingest: Ingest, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    return await ingest.client.post("/v1/figures", json=body, headers=ingest.admin | headers)


@contextlib.asynccontextmanager
async def writers_busy(ingest: Ingest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[asyncio.Task[Any]]]:
    """Every writer busy with a report waiting for its unit (counted busy however long it waits), so the
    reports sent inside the block wait, and are written when it ends; yields the busy reports' requests."""
    monkeypatch.setattr(report_batches, "SLOW_S", 120)
    async with units_held(ingest.pool, HELD):
        busy = [asyncio.create_task(send(ingest, *report(unit))) for unit in HELD]
        await eventually(lambda: waiting_on_locks(ingest.pool, len(HELD)), timeout_s=30, what="the writers busy")
        yield busy
    assert [(await task).status_code for task in busy] == [201] * len(busy)


async def all_waiting(ingest: Ingest, reports: int) -> bool:
    intake = ingest.client._transport.app.state.ingest.intake  # type: ignore[attr-defined]
    return bool(intake.reports_waiting == reports)


async def _transactions(pool: asyncpg.Pool, units: list[str]) -> int:
    async with pool.acquire() as conn:
        query = (
            "SELECT count(DISTINCT xmin::text) FROM events"
            " WHERE stream_id = ANY($1) AND event_type = 'DisbursementReported'"
        )
        return int(await conn.fetchval(query, units))


async def test_reports_that_wait_are_committed_together_each_a_submission_of_its_own(
    communes: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest = communes
    async with writers_busy(ingest, monkeypatch):
        sent = [asyncio.create_task(send(ingest, *report(unit, str(1000 + n)))) for n, unit in enumerate(OTHERS)]
        await eventually(lambda: all_waiting(ingest, len(OTHERS)), timeout_s=30, what="every report waiting")
    answers = await asyncio.gather(*sent)
    assert [a.status_code for a in answers] == [201] * len(OTHERS), [a.text for a in answers]
    assert await _transactions(ingest.pool, OTHERS) == 1  # one transaction for all twenty
    async with ingest.pool.acquire() as conn:
        for unit, answer in zip(OTHERS, answers, strict=True):
            body = answer.json()
            event = await conn.fetchrow("SELECT * FROM events WHERE event_id = $1::uuid", body["event_ids"][0])
            assert (event["stream_id"], event["position"]) == (unit, body["first_position"])
            assert body["first_position"] == body["last_position"]
            assert event["payload"]["amount"] == str(1000 + OTHERS.index(unit))
            kept = await conn.fetchrow(
                "SELECT first_position, last_position FROM submissions WHERE idempotency_key = $1", f"k-{unit}"
            )
            assert tuple(kept) == (body["first_position"], body["last_position"])
        receipts = await conn.fetchval("SELECT count(*) FROM store_receipts WHERE first_position = ANY($1)",
                                       [a.json()["first_position"] for a in answers])  # fmt: skip
    assert receipts == len(OTHERS)


async def test_a_report_that_is_not_clean_gets_its_own_answer_and_the_others_are_stored_together(
    communes: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest = communes
    stored = await send(ingest, *report(OTHERS[0], "5000", key="first"))  # a cumulative the next may not go below
    assert stored.status_code == 201, stored.text
    async with writers_busy(ingest, monkeypatch):
        falls = asyncio.create_task(send(ingest, *report(OTHERS[0], "4000", key="falls", as_of="2025-07-31")))
        unknown = asyncio.create_task(send(ingest, *report("xa-khong-co")))
        again = asyncio.create_task(send(ingest, *report(OTHERS[0], "5000", key="first")))  # the first, re-sent
        clean = [asyncio.create_task(send(ingest, *report(unit))) for unit in OTHERS[1:6]]
        await eventually(lambda: all_waiting(ingest, 8), timeout_s=30, what="every report waiting")
    falling = await falls
    assert falling.status_code == 422, falling.text
    assert [(e["row"], e["field"]) for e in falling.json()["errors"]] == [(1, "amount")]  # its own row number
    assert (await unknown).status_code == 422
    resent = await again
    assert resent.status_code == 200 and resent.json()["first_position"] == stored.json()["first_position"]
    assert [(await task).status_code for task in clean] == [201] * 5
    assert await _transactions(ingest.pool, OTHERS[1:6]) == 1  # the bad ones cost the clean their batch: no


async def test_a_writer_waiting_on_a_units_lock_does_not_hold_the_other_reports_up(communes: Ingest) -> None:
    ingest = communes
    async with units_held(ingest.pool, HELD):
        waiting = [asyncio.create_task(send(ingest, *report(unit))) for unit in HELD]  # every writer, waiting
        await eventually(lambda: waiting_on_locks(ingest.pool, len(HELD)), timeout_s=30, what="the writers busy")
        answer = await asyncio.wait_for(send(ingest, *report(OTHERS[0])), timeout=30)
        assert answer.status_code == 201, answer.text
        assert not any(task.done() for task in waiting)
    assert [(await task).status_code for task in waiting] == [201] * len(waiting)


async def test_a_batch_with_a_unit_a_file_holds_commits_the_others_together_at_once(
    communes: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch cannot lock the held unit: that report leaves it and waits for the file alone, and the clean
    ones are committed together, not behind it (and not one by one: written alone, a batch's reports held their
    units against the next batch, which was then written alone too — a spiral under a burst)."""
    ingest = communes
    held, clean = OTHERS[0], OTHERS[1:5]
    async with units_held(ingest.pool, [held]):
        async with writers_busy(ingest, monkeypatch):
            waiting = asyncio.create_task(send(ingest, *report(held)))
            others = [asyncio.create_task(send(ingest, *report(unit))) for unit in clean]
            await eventually(lambda: all_waiting(ingest, 1 + len(clean)), timeout_s=30, what="every report waiting")
        answers = await asyncio.wait_for(asyncio.gather(*others), timeout=30)
        assert [a.status_code for a in answers] == [201] * len(clean)
        assert await _transactions(ingest.pool, clean) == 1
        assert not waiting.done()
    assert (await waiting).status_code == 201
