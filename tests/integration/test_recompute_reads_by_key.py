"""A recompute reads the facts of the keys it recomputes, not every fact of the registry (real PostgreSQL):
each one of its statements that read every figure or every plan decision made a report's recompute cost
grow with the registry, and the live projector's whole work with its square (the national bench found
them). PostgreSQL's own count of the rows the transaction read from each table tells."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg
import pytest

from services.projector.accountability_rows import recompute_accountability
from services.projector.progress_rules import ProgressRules
from services.projector.touched import ProgressKey
from shared.events import DisbursementReported, DomainEvent, TargetAdjusted, TargetSet, UnitRegistered
from tests.integration.projector_helpers import apply_events
from tests.integration.test_projection_order import recorded

pytestmark = pytest.mark.postgres

UNITS = [f"xa-{n:03}" for n in range(200)]
RULES = ProgressRules()


def registry_with_a_year_of_reports() -> list[DomainEvent]:
    events: list[DomainEvent] = []
    for n, unit in enumerate(UNITS):
        events.append(UnitRegistered(unit_code=unit, name=f"Xã số {n}", level="province", committee="UBKT"))
        events.append(TargetSet(unit_code=unit, indicator="public_investment_disbursement", plan_year=2025,
                                amount=Decimal(10**9 + n)))  # fmt: skip
        for step in range(1, 10):  # plans revised in the year: every unit's plan decisions are many rows
            events.append(TargetAdjusted(unit_code=unit, indicator="public_investment_disbursement", plan_year=2025,
                                         amount=Decimal(10**9 + n + step)))  # fmt: skip
        for month in range(1, 12):
            for category in ("central_budget", "local_budget"):
                events.append(DisbursementReported(unit_code=unit, plan_year=2025, category=category,
                                                   as_of=dt.date(2025, month, 28),
                                                   amount=Decimal(month * 1_000_000 + n)))  # fmt: skip
    return events


async def test_a_units_report_reads_its_own_figures_and_plans_not_the_registrys(pool: asyncpg.Pool) -> None:
    history = registry_with_a_year_of_reports()
    async with pool.acquire() as conn:
        async with conn.transaction():
            await apply_events(conn, recorded(history), RULES)
        await conn.execute("ANALYZE")
        figures = await conn.fetchval("SELECT count(*) FROM figures")
        assert figures == len(UNITS) * 11 * 2
        report = DisbursementReported(unit_code="xa-007", plan_year=2025, category="central_budget",
                                      as_of=dt.date(2025, 12, 28), amount=Decimal(13_000_000))  # fmt: skip
        async with conn.transaction():
            # (The counts include what earlier transactions of the connection read, not yet reported.)
            before = await _rows_read(conn)
            await apply_events(conn, recorded([report], start=len(history) + 1), RULES)
            after = await _rows_read(conn)
            read = {table: {n: after[table][n] - before[table][n] for n in after[table]} for table in after}
        assert await conn.fetchval("SELECT actual_ytd FROM unit_progress WHERE unit_code = 'xa-007'") == Decimal(
            13_000_000
        ) + Decimal(11_000_007)  # the new month's report on top of the local budget's
    # One unit's year: its 23 figures and its ten plan decisions, read a few times over, and no table scan.
    assert read["figures"]["seq_tup_read"] == 0, read
    assert read["target_history"]["seq_tup_read"] == 0, read
    assert read["figures"]["idx_tup_fetch"] < figures // 10, read


async def _rows_read(conn: asyncpg.Connection) -> dict[str, dict[str, int]]:
    """Rows this connection read from the facts and the progress rows, by table scans and through indexes."""
    rows = await conn.fetch(
        "SELECT relname, seq_tup_read, coalesce(idx_tup_fetch, 0) AS idx_tup_fetch FROM pg_stat_xact_user_tables"
        " WHERE relname IN ('figures', 'target_history', 'unit_progress_history')"
    )
    return {r["relname"]: {"seq_tup_read": r["seq_tup_read"], "idx_tup_fetch": r["idx_tup_fetch"]} for r in rows}


async def test_a_keys_stints_read_that_keys_progress_not_its_units_other_years(pool: asyncpg.Pool) -> None:
    """The heads' stints of one plan year come from that year's progress: a unit's other years and capital
    sources are not read (they were: every row of the chunk's units, three times what a weekly file needs)."""
    events: list[DomainEvent] = [UnitRegistered(unit_code="xa-001", name="Xã Tân Hòa", level="province",
                                                committee="UBKT")]  # fmt: skip
    for year in (2023, 2024, 2025):
        events.append(TargetSet(unit_code="xa-001", indicator="public_investment_disbursement", plan_year=year,
                                amount=Decimal(10**9)))  # fmt: skip
        for month in range(1, 13):
            events += [
                DisbursementReported(unit_code="xa-001", plan_year=year, category=category,
                                     as_of=dt.date(year, month, 28), amount=Decimal(month * 10**6))
                for category in ("central_budget", "local_budget", "oda")
            ]  # fmt: skip
    async with pool.acquire() as conn:
        async with conn.transaction():
            await apply_events(conn, recorded(events), RULES)
        key = ProgressKey("xa-001", "public_investment_disbursement", 2025)
        own = await conn.fetchval(
            "SELECT count(*) FROM unit_progress_history WHERE (unit_code, indicator, plan_year, category)"
            " = ('xa-001', 'public_investment_disbursement', 2025, '')"
        )
        async with conn.transaction():
            before = (await _rows_read(conn))["unit_progress_history"]
            await recompute_accountability(conn, [key])
            after = (await _rows_read(conn))["unit_progress_history"]
            read = sum(after.values()) - sum(before.values())
            stints = await conn.fetchval("SELECT count(*) FROM leader_accountability WHERE plan_year = 2025")
    assert own >= 12 and stints > 0
    assert read <= own, f"read {read} progress rows for a key that has {own}"
