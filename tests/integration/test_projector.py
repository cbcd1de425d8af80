"""The projector against a real PostgreSQL and a real broker: duplicates, restarts, checkpoints."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Coroutine
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from aiokafka import TopicPartition

from services.projector import pending
from services.projector.fact_tables import write_facts
from services.projector.service import Projector
from services.projector.touched import ProgressKey, Touched
from services.relay.relay import Relay
from shared import locks
from shared.bus import make_producer
from shared.event_store import EventStore, Submitter
from shared.events import DisbursementReported, TargetSet
from shared.settings import Settings
from shared.topics import ensure_topics
from tests.integration.projector_helpers import caught_up
from tests.kafka_helpers import eventually, read_topic
from tests.published_schema import published_problems

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

UNITS = [f"unit-{i}" for i in range(5)]


def facts(unit: str, month: int) -> list[DisbursementReported]:
    as_of = f"2025-{month:02d}-28"
    return [
        DisbursementReported.model_validate(
            {
                "unit_code": unit,
                "plan_year": 2025,
                "category": category,
                "as_of": as_of,
                "amount": month * share * 1_000_000_000,
            }
        )
        for category, share in (("central_budget", 3), ("local_budget", 2))
    ]


async def seed(store: EventStore) -> None:
    await store.append(
        [
            TargetSet(
                unit_code=u,
                indicator="public_investment_disbursement",
                plan_year=2025,
                amount=Decimal(10**14),
            )
            for u in UNITS
        ],
        Submitter("t", "test"),
    )
    for month in range(1, 7):
        await store.append([f for u in UNITS for f in facts(u, month)], Submitter("t", "test"))


@contextlib.asynccontextmanager
async def running(*work: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(w) for w in work]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        # A service that died while the test waited is the failure to report, not the wait's timeout.
        crashed = [o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, asyncio.CancelledError)]
        if crashed:
            raise crashed[0]


async def progress_rows(pool: asyncpg.Pool) -> list[tuple[Any, ...]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT unit_code, as_of, actual_ytd, rate, status FROM unit_progress ORDER BY unit_code"
        )
    return [tuple(r) for r in rows]


async def test_projection_is_exact_and_survives_duplicates_and_restarts(settings: Settings, pool: asyncpg.Pool) -> None:
    await ensure_topics(settings)
    store = EventStore(pool)
    await seed(store)
    async with running(Relay(settings, pool).run(), Projector.from_settings(settings, pool).run()):
        await eventually(lambda: caught_up(settings, pool), what="projector caught up")
        await eventually(lambda: _has_rows(pool, len(UNITS)), what="progress rows")
    first = await progress_rows(pool)
    # June: 3 + 2 = 5 units of 6 × 10^9 ... per unit: month 6 × (3 + 2) × 10^9 = 3 × 10^10 VND
    assert [r[2] for r in first] == [Decimal(30 * 10**9)] * len(UNITS)
    assert [r[3] for r in first] == [Decimal("0.0003")] * len(UNITS)

    progress = await read_topic(settings, settings.progress_topic, lambda r: len(r) >= len(UNITS))
    assert [published_problems(json.loads(r.value), "ProgressChanged") for r in progress] == [[]] * len(progress)

    # Deliver every ledger message a second time, as a broker retry or a relay re-send would.
    records = await read_topic(settings, settings.ledger_topic, lambda r: len(r) >= 65)
    producer = make_producer(settings)
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(settings.ledger_topic, record.value, key=record.key)
    finally:
        await producer.stop()

    # A fresh projector instance (a restart) resumes from the checkpoint stored with the rows.
    async with running(Projector.from_settings(settings, pool).run()):
        await eventually(lambda: caught_up(settings, pool, relay_running=False), what="caught up after duplicates")
    assert await progress_rows(pool) == first
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM figures") == 60


async def _has_rows(pool: asyncpg.Pool, count: int) -> bool:
    async with pool.acquire() as conn:
        return bool(await conn.fetchval("SELECT count(*) FROM unit_progress") == count)


async def test_rows_and_checkpoint_commit_together(settings: Settings, pool: asyncpg.Pool) -> None:
    """If the checkpoint cannot be written, the rows of that batch are not kept either."""
    store = EventStore(pool)
    await store.append(facts("hue", 1), Submitter("t", "test"))
    recorded = await store.read_after(0)
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE FUNCTION fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE 'disk full'; END $$;"
            "CREATE TRIGGER fail BEFORE INSERT ON projector_offsets FOR EACH ROW EXECUTE FUNCTION fail();"
        )

    class Message:
        def __init__(self, offset: int, value: bytes) -> None:
            self.offset, self.value, self.headers = offset, value, ()  # published before the chain: no headers

    batch = {
        TopicPartition(settings.ledger_topic, 0): [
            Message(i, e.model_dump_json().encode()) for i, e in enumerate(recorded)
        ]
    }
    with pytest.raises(asyncpg.RaiseError, match="disk full"):
        await Projector.from_settings(settings, pool).apply_batches(batch)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM figures") == 0
        assert await conn.fetchval("SELECT count(*) FROM unit_progress") == 0


async def test_work_left_pending_by_a_crash_is_done_by_the_next_run(settings: Settings, pool: asyncpg.Pool) -> None:
    """Facts and the record of what they touched commit with the checkpoint; if the process dies before
    recomputing the derived rows, the next run recomputes them."""
    await ensure_topics(settings)
    store = EventStore(pool)
    await seed(store)
    async with running(Relay(settings, pool).run()):
        records = await read_topic(settings, settings.ledger_topic, lambda r: len(r) >= 65)
    batches: dict[TopicPartition, list[Any]] = {}
    for record in records:
        batches.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
    await Projector.from_settings(settings, pool).apply_batches(batches)  # and the process dies here
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM figures") == 60
        assert await conn.fetchval("SELECT count(*) FROM unit_progress") == 0
        assert await conn.fetchval("SELECT count(*) FROM projector_pending") > 0

    async with running(Projector.from_settings(settings, pool).run()):
        await eventually(lambda: caught_up(settings, pool, relay_running=False), what="pending work recomputed")
    assert [r[2] for r in await progress_rows(pool)] == [Decimal(30 * 10**9)] * len(UNITS)


def _touching(unit: str, since: dt.date) -> Touched:
    touched = Touched()
    touched.touch(ProgressKey(unit, "public_investment_disbursement", 2025), since)
    return touched


async def test_taking_pending_work_does_not_wait_for_a_batch_being_written(pool: asyncpg.Pool) -> None:
    """A recompute takes what batches committed; one still being written (by this instance, or another)
    is neither waited for nor taken."""
    async with pool.acquire() as conn:
        await pending.record(conn, _touching("da-nang", dt.date(2025, 2, 28)))
    async with pool.acquire() as writer, pool.acquire() as taker, writer.transaction():
        await pending.record(writer, _touching("hue", dt.date(2025, 3, 31)))
        async with taker.transaction():
            taken = await asyncio.wait_for(pending.take(taker), timeout=10)
    assert {k.unit_code for k in taken.keys} == {"da-nang"}
    async with pool.acquire() as conn:
        assert [r[0] for r in await conn.fetch("SELECT unit_code FROM projector_pending")] == ["hue"]


async def test_a_batch_records_work_without_waiting_for_a_recompute_taking_the_same_key(pool: asyncpg.Pool) -> None:
    """The projector writes the next batches while it recomputes: recording what a batch touched does not
    wait for the recompute taking the same key, and is there for the next recompute."""
    key = ProgressKey("hue", "public_investment_disbursement", 2025)
    async with pool.acquire() as conn:
        await pending.record(conn, _touching("hue", dt.date(2025, 3, 31)))
    async with pool.acquire() as taker, pool.acquire() as writer, taker.transaction():
        taken = await pending.take(taker)  # the recompute is still running: not committed
        async with writer.transaction():
            await asyncio.wait_for(pending.record(writer, _touching("hue", dt.date(2025, 1, 31))), timeout=10)
    assert taken.keys == {key: dt.date(2025, 3, 31)}
    async with pool.acquire() as conn, conn.transaction():
        assert (await pending.take(conn)).keys == {key: dt.date(2025, 1, 31)}


async def test_a_key_recorded_by_several_batches_is_recomputed_from_its_earliest_date(pool: asyncpg.Pool) -> None:
    key = ProgressKey("hue", "public_investment_disbursement", 2025)
    async with pool.acquire() as conn, conn.transaction():
        for since in (dt.date(2025, 3, 31), dt.date(2025, 1, 31), dt.date(2025, 6, 30)):
            await pending.record(conn, _touching("hue", since))
        assert (await pending.take(conn)).keys == {key: dt.date(2025, 1, 31)}
        assert await conn.fetchval("SELECT count(*) FROM projector_pending") == 0


async def test_instances_recompute_one_at_a_time(settings: Settings, pool: asyncpg.Pool) -> None:
    """A recompute reads a peer group's rows; while another instance's recompute holds the lock (and may
    be rewriting them), it waits, then reads what that one committed."""
    store = EventStore(pool)
    await store.append(facts("hue", 1), Submitter("t", "test"))
    async with pool.acquire() as conn, conn.transaction():
        await pending.record(conn, await write_facts(conn, await store.read_after(0)))
    async with pool.acquire() as other, other.transaction():
        await other.execute(locks.PROJECTOR_RECOMPUTE)  # another instance recomputing
        waiting = asyncio.create_task(Projector.from_settings(settings, pool).recompute_pending())
        await eventually(lambda: _waits_for_a_lock(other), what="recompute waiting")
        assert not waiting.done()
    changes = await asyncio.wait_for(waiting, timeout=30)
    assert [c.unit_code for c in changes] == ["hue"]


async def _waits_for_a_lock(conn: asyncpg.Connection) -> bool:
    """Another session of this database waits for a lock (the row lock `conn` holds)."""
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock')"
    ))  # fmt: skip


async def test_what_facts_told_of_the_snapshots_survives_a_crash_before_the_recompute(pool: asyncpg.Pool) -> None:
    """The earliest day each key's new facts became known, and the span of those days, are recorded with
    the facts (projector_pending) and come back whole: a crash between the two transactions leaves the
    month-end snapshots to be brought up to date by the next run."""
    touched = Touched()
    key = ProgressKey("hue", "public_investment_disbursement", 2025)
    touched.touch(key, dt.date(2025, 3, 31))
    touched.know(key, dt.date(2025, 4, 5))
    touched.saw_known(dt.date(2025, 4, 5), dt.date(2025, 6, 2))
    async with pool.acquire() as conn:
        async with conn.transaction():
            await pending.record(conn, touched)
        async with conn.transaction():
            taken = await pending.take(conn)
    assert (taken.keys, taken.known, taken.known_span) == (touched.keys, touched.known, touched.known_span)
