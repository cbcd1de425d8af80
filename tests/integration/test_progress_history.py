"""The unit-progress history the projector keeps, checked row by row against real PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg
import pytest

from services.projector.projection import apply_events
from shared.events import DisbursementReported, FigureCorrected, TargetAdjusted, TargetSet
from tests.integration.test_projection_order import recorded

pytestmark = pytest.mark.postgres
D = Decimal


def disbursed(category: str, month: int, amount: int, kind: str = "cumulative") -> DisbursementReported:
    return DisbursementReported(
        unit_code="hue", plan_year=2025, category=category, as_of=dt.date(2025, month, 28), amount_kind=kind,
        amount=D(amount),
    )  # fmt: skip


async def history(pool: asyncpg.Pool, *events: object) -> dict[tuple[str, int], tuple[object, ...]]:
    async with pool.acquire() as conn, conn.transaction():
        await apply_events(conn, recorded(list(events)), D("0.05"))  # type: ignore[arg-type]
        rows = await conn.fetch("SELECT * FROM unit_progress_history ORDER BY category, as_of")
    return {
        (r["category"], r["as_of"].month): (r["actual_ytd"], r["rate"], r["comparable_rate"], r["status"]) for r in rows
    }


async def test_totals_per_date_with_carry_forward_periods_and_corrections(pool: asyncpg.Pool) -> None:
    rows = await history(
        pool,
        TargetSet(unit_code="hue", indicator="public_investment_disbursement", plan_year=2025, amount=D(1000)),
        disbursed("central_budget", 3, 100),
        disbursed("local_budget", 4, 50),  # central carries forward to April
        disbursed("local_budget", 6, 30, kind="period"),  # adds to April's 50
        disbursed("central_budget", 6, 300),
        FigureCorrected(
            unit_code="hue",
            plan_year=2025,
            category="central_budget",
            as_of=dt.date(2025, 6, 28),
            amount=D(250),
            indicator="public_investment_disbursement",
            reason="đối chiếu",
        ),
    )
    assert {k: v[0] for k, v in rows.items() if k[0] == ""} == {("", 3): 100, ("", 4): 150, ("", 6): 330}
    assert rows["local_budget", 6][0] == 80 and rows["central_budget", 4][0] == 100
    assert rows["local_budget", 3][0] == 0  # no report yet
    assert rows["", 6][1] == D("0.33")
    assert rows["central_budget", 6][1] == D("0.25")  # a category's share of the target


async def test_comparable_rate_leaves_out_capital_supplemented_late(pool: asyncpg.Pool) -> None:
    rows = await history(
        pool,
        TargetSet(unit_code="hue", indicator="public_investment_disbursement", plan_year=2025, amount=D(1000)),
        TargetAdjusted(
            unit_code="hue",
            indicator="public_investment_disbursement",
            plan_year=2025,
            amount=D(1500),
            late_supplement=D(500),
            decision_date=dt.date(2025, 10, 15),
        ),
        disbursed("central_budget", 11, 900),
    )
    actual, rate, comparable, _ = rows["", 11]
    assert (actual, rate, comparable) == (900, D("0.6"), D("0.9"))


async def test_a_unit_without_a_target_is_not_assessed(pool: asyncpg.Pool) -> None:
    rows = await history(pool, disbursed("central_budget", 5, 100))
    assert rows["", 5][1:] == (None, None, "not_assessed")
