"""The read models do not depend on delivery order, duplicates or batching (property-based, real
PostgreSQL): shuffled, duplicated, re-batched event sequences give the same tables as in-order delivery,
whether a batch comes as decoded events or as the ledger's messages."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.projector.fact_tables import write_ledger_messages
from services.projector.progress_rules import ProgressRules
from services.projector.rebuild import rebuild
from services.projector.recompute import recompute
from shared.bus import encode_recorded
from shared.events import (
    DisbursementReported,
    DomainEvent,
    FigureCorrected,
    LeaderAppointed,
    LeaderLeft,
    RecordedEvent,
    Role,
    TargetAdjusted,
    TargetSet,
    UnitRegistered,
    UnitsMerged,
)
from tests.integration.projector_helpers import apply_events

pytestmark = pytest.mark.postgres

TABLES = (
    "units", "unit_mergers", "tenures", "targets", "target_history", "figures", "unit_progress_history",
    "confidence_votes", "leader_accountability", "assessment_groups", "assessment_lists", "assessment_config",
    "assessment_members", "assessment_rows", "assessment_totals", "known_on_progress", "known_on_span",
    "alert_timeline", "unit_milestones", "unit_dissolutions", "unit_handovers",
)  # fmt: skip
RULES = ProgressRules()
UNITS = ("u1", "u2", "u3")


def history() -> list[DomainEvent]:
    """A year of facts for three units, with the awkward cases: supersession, corrections, a period
    amount, a target adjustment, a backfill, a change of head, a merger."""
    events: list[DomainEvent] = []
    for unit in UNITS:
        events.append(UnitRegistered(unit_code=unit, name=f"Đơn vị {unit}", level="province", committee="UBKT"))
        events.append(TargetSet(unit_code=unit, indicator="public_investment_disbursement", plan_year=2025,
                                amount=Decimal(1_000_000)))  # fmt: skip
        for month, amount in ((3, 100_000), (6, 350_000), (9, 500_000)):
            events.append(DisbursementReported(unit_code=unit, plan_year=2025, category="central_budget",
                                               as_of=dt.date(2025, month, 28), amount=Decimal(amount)))  # fmt: skip
    events += [
        DisbursementReported(unit_code="u1", plan_year=2025, category="central_budget", as_of=dt.date(2025, 9, 28),
                             amount=Decimal(520_000)),  # supersedes
        FigureCorrected(unit_code="u2", plan_year=2025, category="central_budget", as_of=dt.date(2025, 9, 28),
                        amount=Decimal(450_000), indicator="public_investment_disbursement", reason="đối chiếu KBNN"),
        DisbursementReported(unit_code="u3", plan_year=2025, category="oda", as_of=dt.date(2025, 9, 28),
                             amount_kind="period", amount=Decimal(40_000)),
        DisbursementReported(unit_code="u3", plan_year=2025, category="local_budget", as_of=dt.date(2025, 3, 28),
                             amount=Decimal(7_000), document_date=dt.date(2025, 4, 5)),  # a backfill
        TargetAdjusted(unit_code="u3", indicator="public_investment_disbursement", plan_year=2025,
                       amount=Decimal(1_200_000), late_supplement=Decimal(200_000)),
        LeaderAppointed(tenure_id="t1", unit_code="u1", leader_id="L1", leader_name="Nguyễn Văn Ánh", role=Role.HEAD,
                        start_date=dt.date(2021, 1, 1)),
        LeaderLeft(tenure_id="t1", unit_code="u1", end_date=dt.date(2025, 5, 31)),
        LeaderAppointed(tenure_id="t2", unit_code="u1", leader_id="L2", leader_name="Trần Thị Bình", role=Role.HEAD,
                        start_date=dt.date(2025, 6, 1)),
        UnitsMerged(unit_code="u1", predecessor_codes=["u2"], effective_date=dt.date(2025, 7, 1)),
    ]  # fmt: skip
    return events


def recorded(events: list[DomainEvent], start: int = 1) -> list[RecordedEvent]:
    return [
        RecordedEvent(
            event_id=uuid.uuid4(),
            position=position,
            stream_id=event.stream_id(),
            stream_version=position,
            event_type=event.model_dump()["type"],
            schema_version=1,
            recorded_at=dt.datetime(2025, 10, 1, tzinfo=dt.UTC),
            submitted_by="test",
            channel="test",
            correlation_id=None,
            payload=event.model_dump(mode="json"),
        )
        for position, event in enumerate(events, start=start)
    ]


async def snapshot(conn: asyncpg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {table: sorted(tuple(r) for r in await conn.fetch(f"SELECT * FROM {table}")) for table in TABLES}


def differences(
    expected: dict[str, list[tuple[Any, ...]]], found: dict[str, list[tuple[Any, ...]]], shown: int = 5
) -> str:
    """Which tables differ, and the first rows only one side has: what a failure must say to be diagnosed."""
    lines = []
    for table in expected.keys() | found.keys():
        before, after = {repr(r) for r in expected.get(table, [])}, {repr(r) for r in found.get(table, [])}
        if before != after:
            lines.append(f"{table}: only before {sorted(before - after)[:shown]}; "
                         f"only after {sorted(after - before)[:shown]}")  # fmt: skip
    return "\n".join(sorted(lines))


async def assert_live_equals_a_rebuild(pool: asyncpg.Pool) -> None:
    """The read models as the live projector left them equal those `pim projector rebuild` makes."""
    async with pool.acquire() as conn:
        live = await snapshot(conn)
    await rebuild(pool, ProgressRules())
    async with pool.acquire() as conn:
        rebuilt = await snapshot(conn)
    assert rebuilt == live, differences(live, rebuilt)


async def project(
    conn: asyncpg.Connection, batches: list[list[RecordedEvent]], as_messages: list[bool] | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    """The tables after projecting `batches` in turn: decoded events, or (where `as_messages` says so)
    ledger messages as the live projector receives them."""
    await conn.execute(f"TRUNCATE {', '.join(TABLES)}")
    for batch, as_message in zip(batches, as_messages or [False] * len(batches), strict=True):
        async with conn.transaction():
            if as_message:
                await recompute(conn, await write_ledger_messages(conn, [encode_recorded(e) for e in batch]), RULES)
            else:
                await apply_events(conn, batch, RULES)
    return await snapshot(conn)


async def test_shuffled_duplicated_rebatched_delivery_gives_the_same_tables(pool: asyncpg.Pool) -> None:
    events = recorded(history())
    loop = asyncio.get_running_loop()
    async with pool.acquire() as conn:
        expected = await project(conn, [events])
        # 3 units × 3 dates × (total + central_budget), u3's ODA line from its first report (28 September)
        # and its local-budget line (the backfill of 28 March) on its three dates, and u1 on the merger date
        # (1 July: total and central_budget, carrying u2's last figures until its next report)
        assert len(expected["unit_progress_history"]) == 3 * 3 * 2 + 1 + 3 + 2 and expected["unit_mergers"]
        assert expected["assessment_totals"] and expected["known_on_progress"]

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)  # fmt: skip
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            duplicates = data.draw(st.lists(st.sampled_from(events), max_size=10))
            delivery = data.draw(st.permutations(events + duplicates))
            cuts = sorted(data.draw(st.sets(st.integers(1, len(delivery) - 1), max_size=6)))
            batches = [delivery[a:b] for a, b in zip([0, *cuts], [*cuts, len(delivery)], strict=True)]
            # each batch as decoded events or as ledger messages (figures written from the JSON by SQL)
            as_messages = data.draw(st.lists(st.booleans(), min_size=len(batches), max_size=len(batches)))
            actual = asyncio.run_coroutine_threadsafe(project(conn, batches, as_messages), loop).result(timeout=60)
            assert actual == expected

        await asyncio.to_thread(check)


report = st.builds(
    lambda unit, category, project, month, kind, amount: DisbursementReported(
        unit_code=unit,
        plan_year=2025,
        category=category,
        project_code=project,
        as_of=dt.date(2025, month, 28),
        amount_kind=kind,
        amount=Decimal(amount),
    ),
    st.sampled_from(["hue", "da-nang"]),
    st.sampled_from(["oda", "central_budget"]),
    st.sampled_from([None, "DA-1"]),
    st.integers(1, 12),
    st.sampled_from(["cumulative", "period"]),
    st.integers(0, 10**9),
)


async def test_reports_projected_a_few_at_a_time_give_the_tables_of_one_batch(pool: asyncpg.Pool) -> None:
    """Rows are recomputed from the earliest date a batch changed: random reports (late, superseding,
    cumulative after period, new capital sources and projects), in batches as they come, give the tables
    one batch of all of them gives."""
    setup = [
        *(UnitRegistered(unit_code=u, name=n, level="province", committee="UBKT Trung ương")
          for u, n in (("hue", "Huế"), ("da-nang", "Đà Nẵng"))),
        *(TargetSet(unit_code=u, indicator="public_investment_disbursement", plan_year=2025, amount=Decimal(10**10))
          for u in ("hue", "da-nang")),
    ]  # fmt: skip
    loop = asyncio.get_running_loop()
    async with pool.acquire() as conn:

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)  # fmt: skip
        @given(reports=st.lists(report, min_size=1, max_size=20), data=st.data())
        def check(reports: list[DisbursementReported], data: st.DataObject) -> None:
            events = recorded([*setup, *reports])
            cuts = sorted(data.draw(st.sets(st.integers(1, len(events) - 1), max_size=8)))
            batches = [events[a:b] for a, b in zip([0, *cuts], [*cuts, len(events)], strict=True)]
            at_once = asyncio.run_coroutine_threadsafe(project(conn, [events]), loop).result(timeout=60)
            batched = asyncio.run_coroutine_threadsafe(project(conn, batches), loop).result(timeout=60)
            assert batched == at_once

        await asyncio.to_thread(check)
