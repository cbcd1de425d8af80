"""The unit-progress history the projector keeps, checked row by row against real PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from services.projector.progress import ProgressRules
from services.projector.projection import apply_events
from services.projector.time_travel import progress_as_known_on
from shared.events import (
    DisbursementReported,
    FigureCorrected,
    TargetAdjusted,
    TargetSet,
    UnitRegistered,
    UnitsMerged,
)
from shared.settings import Settings
from tests.integration.test_projection_order import recorded

pytestmark = pytest.mark.postgres
D = Decimal
RULES = ProgressRules(tolerance=D("0.05"))


def disbursed(category: str, month: int, amount: int, kind: str = "cumulative") -> DisbursementReported:
    return DisbursementReported(
        unit_code="hue", plan_year=2025, category=category, as_of=dt.date(2025, month, 28), amount_kind=kind,
        amount=D(amount),
    )  # fmt: skip


async def history(pool: asyncpg.Pool, *events: object) -> dict[tuple[str, int], tuple[object, ...]]:
    async with pool.acquire() as conn, conn.transaction():
        await apply_events(conn, recorded(list(events)), RULES)  # type: ignore[arg-type]
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


async def test_progress_as_known_on_a_past_date_ignores_later_reports(pool: asyncpg.Pool) -> None:
    def on(day: int, month: int) -> dt.datetime:
        return dt.datetime(2025, month, day, 9, tzinfo=dt.UTC)

    events = [
        TargetSet(unit_code="hue", indicator="public_investment_disbursement", plan_year=2025, amount=D(1000)),
        disbursed("central_budget", 1, 100),
        FigureCorrected(unit_code="hue", plan_year=2025, category="central_budget", as_of=dt.date(2025, 1, 28),
                        amount=D(80), indicator="public_investment_disbursement", reason="sai số"),
        # a backfill recorded in April from a document of 20 February
        disbursed("local_budget", 1, 40).model_copy(update={"document_date": dt.date(2025, 2, 20)}),
    ]  # fmt: skip
    stamped = [
        r.model_copy(update={"recorded_at": at})
        for r, at in zip(recorded(events), [on(1, 1), on(5, 2), on(10, 3), on(2, 4)], strict=True)
    ]
    async with pool.acquire() as conn:
        async with conn.transaction():
            await apply_events(conn, stamped, RULES)

        async def total(day: dt.date) -> object:
            rows = await progress_as_known_on(conn, day, RULES)
            return next((r["actual_ytd"] for r in rows if r["category"] == ""), None)

        assert await total(dt.date(2025, 2, 1)) is None  # nothing known yet
        assert await total(dt.date(2025, 2, 10)) == 100  # the first report
        assert await total(dt.date(2025, 2, 25)) == 140  # + the backfill, known from its document's date
        assert await total(dt.date(2025, 3, 15)) == 120  # the correction
        current = await conn.fetchval("SELECT actual_ytd FROM unit_progress WHERE unit_code = 'hue'")
        assert current == 120


async def test_pim_progress_as_known_on_prints_the_past(pool: asyncpg.Pool, settings: Settings) -> None:
    events = [
        UnitRegistered(unit_code="hue", name="Thành phố Huế", level="province", committee="UBKT"),
        TargetSet(unit_code="hue", indicator="public_investment_disbursement", plan_year=2025, amount=D(10**12)),
        disbursed("central_budget", 1, 100 * 10**9),
        disbursed("central_budget", 2, 300 * 10**9),
    ]
    days = [dt.datetime(2025, m, d, tzinfo=dt.UTC) for m, d in ((1, 1), (1, 1), (2, 5), (3, 5))]
    stamped = [r.model_copy(update={"recorded_at": at}) for r, at in zip(recorded(events), days, strict=True)]
    async with pool.acquire() as conn, conn.transaction():
        await apply_events(conn, stamped, RULES)
    env = {**os.environ, "DATABASE_URL": str(settings.database_url), "COLUMNS": "200"}
    pim = str(Path(sys.executable).with_name("pim"))

    async def run(*args: str) -> str:
        done = await asyncio.to_thread(
            subprocess.run, [pim, "progress", *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    past, now = await run("--as-known-on", "2025-02-20"), await run()
    assert "Thành phố Huế" in past and "2025-01-28" in past and "10.0%" in past
    assert "2025-02-28" in now and "30.0%" in now


async def test_two_units_merged_mid_year_roll_their_history_into_the_successor(pool: asyncpg.Pool) -> None:
    def report(unit: str, month: int, amount: int) -> DisbursementReported:
        return DisbursementReported(unit_code=unit, plan_year=2025, category="central_budget",
                                    as_of=dt.date(2025, month, 28), amount=D(amount))  # fmt: skip

    def plan(unit: str, amount: int) -> TargetSet:
        return TargetSet(unit_code=unit, indicator="public_investment_disbursement", plan_year=2025, amount=D(amount))

    events = [
        plan("lam-dong", 1000), plan("dak-nong", 500), plan("binh-thuan", 500),
        report("lam-dong", 5, 300), report("dak-nong", 5, 100), report("binh-thuan", 6, 250),
        UnitsMerged(unit_code="lam-dong", predecessor_codes=["dak-nong", "binh-thuan"],
                    effective_date=dt.date(2025, 7, 1)),
        report("lam-dong", 7, 450), report("lam-dong", 8, 500),
    ]  # fmt: skip
    async with pool.acquire() as conn:
        async with conn.transaction():
            await apply_events(conn, recorded(events), RULES)
        rows = await conn.fetch(
            "SELECT as_of, target, actual_ytd, rate FROM unit_progress_history"
            " WHERE unit_code = 'lam-dong' AND category = '' ORDER BY as_of"
        )
        predecessors = await conn.fetch("SELECT unit_code, as_of, actual_ytd FROM unit_progress")
    assert [(r["as_of"].month, r["target"], r["actual_ytd"]) for r in rows] == [
        (5, 1000, 300),  # before the merger: Lâm Đồng alone
        (7, 2000, 450 + 100 + 250),  # from 1 July: the merged units' figures and plans join
        (8, 2000, 500 + 100 + 250),
    ]
    assert rows[-1]["rate"] == D("0.425")
    # the predecessors keep their own history up to the merger
    assert {(r["unit_code"], r["actual_ytd"]) for r in predecessors} >= {("dak-nong", 100), ("binh-thuan", 250)}
