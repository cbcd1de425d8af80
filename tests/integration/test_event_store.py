"""The event store's behaviours, against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import asyncpg
import pytest

from shared.event_store import ConcurrencyError, EventStore, IdempotencyConflict, Submitter
from shared.events import DisbursementReported, LeaderAppointed, Role, UnitRegistered

pytestmark = pytest.mark.postgres


def figure(unit: str = "ha-noi", amount: object = 1_000, as_of: str = "2025-03-31") -> DisbursementReported:
    return DisbursementReported.model_validate(
        {
            "unit_code": unit,
            "plan_year": 2025,
            "category": "central_budget",
            "as_of": as_of,
            "amount": amount,
        }
    )


async def test_append_assigns_consecutive_positions_and_stream_versions(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    first = await store.append([figure(), figure("hue")], Submitter("clerk", "http"))
    second = await store.append([figure(as_of="2025-04-30")], Submitter("clerk", "http"))
    assert first.positions == [1, 2] and second.positions == [3]
    events = await store.read_after(0)
    assert [(e.stream_id, e.stream_version) for e in events] == [("ha-noi", 1), ("hue", 1), ("ha-noi", 2)]
    assert events[0].submitted_by == "clerk" and events[0].channel == "http"


async def test_resending_the_same_report_returns_the_original_events(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    first = await store.append([figure()], Submitter("dept", "http", source="dept", idempotency_key="r1"))
    again = await store.append([figure()], Submitter("dept", "http", source="dept", idempotency_key="r1"))
    assert again.duplicate and not first.duplicate
    assert again.positions == first.positions
    assert await store.head() == 1


async def test_same_key_with_different_content_is_a_conflict(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    await store.append([figure()], Submitter("dept", "http", source="dept", idempotency_key="r1"))
    with pytest.raises(IdempotencyConflict):
        await store.append([figure(amount=2_000)], Submitter("dept", "http", source="dept", idempotency_key="r1"))
    assert await store.head() == 1


async def test_the_same_key_from_another_source_is_another_report(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    await store.append([figure()], Submitter("a", "http", source="a", idempotency_key="r1"))
    other = await store.append([figure()], Submitter("b", "http", source="b", idempotency_key="r1"))
    assert not other.duplicate and await store.head() == 2


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET submitted_by = 'x'",
        "DELETE FROM events",
        "TRUNCATE events",
        "UPDATE submissions SET idempotency_key = 'x'",
        "DELETE FROM submissions",
    ],
)
async def test_the_database_refuses_to_change_history(pool: asyncpg.Pool, statement: str) -> None:
    store = EventStore(pool)
    await store.append([figure()], Submitter("dept", "http", source="dept", idempotency_key="r1"))
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM events") == 1


async def test_money_up_to_a_quadrillion_round_trips_exactly(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    amounts = [Decimal(10**15), Decimal("999999999999999.99"), Decimal("1234567890123.45")]
    await store.append([figure(amount=str(a)) for a in amounts], Submitter("dept", "http"))
    read = [e.event() for e in await store.read_after(0)]
    assert [r.amount for r in read if isinstance(r, DisbursementReported)] == amounts


async def test_vietnamese_text_round_trips(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    unit = UnitRegistered(
        unit_code="ha-noi", name="Thành phố Hà Nội", level="province", committee="Ủy ban Kiểm tra Trung ương"
    )
    leader = LeaderAppointed(
        tenure_id="t1",
        unit_code="ha-noi",
        leader_id="L1",
        leader_name="Nguyễn Thị Ánh Tuyết",
        role=Role.HEAD,
        start_date=dt.date(2025, 1, 1),
    )
    await store.append([unit, leader], Submitter("Phòng Tài chính – Kế hoạch", "http"))
    events = await store.read_after(0)
    assert [e.event() for e in events] == [unit, leader]
    assert events[0].submitted_by == "Phòng Tài chính – Kế hoạch"


async def test_optimistic_concurrency_refuses_a_stale_writer(pool: asyncpg.Pool) -> None:
    store = EventStore(pool)
    await store.append([figure()], Submitter("a", "http"), expected_versions={"ha-noi": 0})
    with pytest.raises(ConcurrencyError) as error:
        await store.append([figure()], Submitter("b", "http"), expected_versions={"ha-noi": 0})
    assert error.value.actual == 1
    await store.append([figure()], Submitter("b", "http"), expected_versions={"ha-noi": 1})


async def test_a_tailing_reader_never_skips_an_event_under_concurrent_appends(pool: asyncpg.Pool) -> None:
    """Gap safety: 8 appenders race while a reader tails; every event is seen, in order, exactly once."""
    store = EventStore(pool)
    appenders, batches, per_batch = 8, 25, 3
    total = appenders * batches * per_batch

    async def append(writer: int) -> None:
        for batch in range(batches):
            events = [figure(f"unit-{writer}", amount=batch * per_batch + i) for i in range(per_batch)]
            await store.append(events, Submitter(f"w{writer}", "test"))

    async def tail() -> list[int]:
        seen: list[int] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while len(seen) < total and loop.time() < deadline:
            seen += [e.position for e in await store.read_after(seen[-1] if seen else 0, limit=7)]
            await asyncio.sleep(0)
        return seen

    reader = asyncio.create_task(tail())
    await asyncio.gather(*(append(w) for w in range(appenders)))
    seen = await reader
    assert seen == list(range(1, total + 1))
