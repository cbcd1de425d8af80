"""A past list never moves: the lists as of a date, read before and after later facts (a plan revised, a
merger), are byte for byte the same; a later fact changes the lists only from the date it is about."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal

import asyncpg
import pytest

from services.alerts.unit_year_facts import load_facts
from services.projector.progress_rules import ProgressRules
from services.projector.standings import GroupStandings, standings, standings_json
from shared.events import (
    DisbursementReported,
    DomainEvent,
    Handover,
    TargetAdjusted,
    TargetSet,
    UnitDissolved,
    UnitMilestone,
    UnitMilestonesSet,
    UnitRegistered,
    UnitsMerged,
)
from tests.integration.projector_helpers import apply_events
from tests.integration.test_projection_order import recorded

pytestmark = pytest.mark.postgres
D = Decimal
RULES = ProgressRules()
DISB = "public_investment_disbursement"
NOV_30, DEC_11, DEC_28 = dt.date(2025, 11, 30), dt.date(2025, 12, 11), dt.date(2025, 12, 28)


def unit(code: str) -> UnitRegistered:
    return UnitRegistered(unit_code=code, name=f"Tỉnh {code}", level="province", committee="UBKT")


def plan(code: str, amount: int) -> TargetSet:
    return TargetSet(unit_code=code, indicator=DISB, plan_year=2025, amount=D(amount),
                     decision_number="1500/QĐ-TTg", decision_date=dt.date(2024, 12, 10))  # fmt: skip


def revised(code: str, amount: int, decided: dt.date) -> TargetAdjusted:
    return TargetAdjusted(unit_code=code, indicator=DISB, plan_year=2025, amount=D(amount),
                          decision_number="2000/QĐ-TTg", decision_date=decided)  # fmt: skip


def report(code: str, amount: int, on: dt.date = NOV_30) -> DisbursementReported:
    return DisbursementReported(unit_code=code, plan_year=2025, category="central_budget", as_of=on, amount=D(amount))


async def apply(conn: asyncpg.Connection, events: Sequence[DomainEvent], start: int) -> None:
    async with conn.transaction():
        await apply_events(conn, recorded(list(events), start=start), RULES)


async def published(conn: asyncpg.Connection, on: dt.date) -> str:
    """The national lists as of `on` as the API sends them."""
    return json.dumps(standings_json(await standings(conn, on, DISB, 2025, "national")), ensure_ascii=False)


async def list_rows(conn: asyncpg.Connection, through: dt.date) -> list[asyncpg.Record]:
    """Every row of the lists (what the dashboards read) on the dates up to `through`."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM assessment_standings WHERE as_of <= $1 ORDER BY group_id, as_of, unit_code", through
    )
    return rows


async def test_a_plan_revised_in_december_leaves_the_lists_before_its_decision_as_they_were(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await apply(conn, [unit("a"), unit("b"), plan("a", 1000), plan("b", 1000),
                           report("a", 500), report("b", 450)], start=1)  # fmt: skip
        on_dec_11, rows_before = await published(conn, DEC_11), await list_rows(conn, DEC_11)
        await apply(conn, [revised("a", 2000, DEC_28)], start=100)

        assert await published(conn, DEC_11) == on_dec_11
        assert await list_rows(conn, DEC_28 - dt.timedelta(days=1)) == rows_before
        (before,) = await standings(conn, DEC_11, DISB, 2025, "national")
        (after,) = await standings(conn, DEC_28, DISB, 2025, "national")
    assert (before.total_actual, before.total_basis) == (950, 2000)
    assert [u.unit_code for u in before.lists[1].at_or_above] == ["a"]  # 50 % against 47.5 %
    # The revision's decision date is a date of the lists of its own, with no report that day.
    assert after.as_of == DEC_28 and (after.total_actual, after.total_basis) == (950, 3000)
    assert [u.unit_code for u in after.lists[1].at_or_above] == ["b"]  # a: 25 % against 31.7 %


async def test_progress_rows_use_the_plan_in_force_on_their_date(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await apply(conn, [unit("a"), plan("a", 1000), report("a", 500), revised("a", 2000, DEC_28),
                           report("a", 900, dt.date(2025, 12, 31))], start=1)  # fmt: skip
        rows = await conn.fetch(
            "SELECT as_of, target, rate FROM unit_progress_history WHERE category = '' ORDER BY as_of"
        )
    assert [(r["as_of"], r["target"], r["rate"]) for r in rows] == [
        (NOV_30, 1000, D("0.5")),
        (dt.date(2025, 12, 31), 2000, D("0.45")),
    ]


async def test_the_national_total_does_not_fall_on_a_merger_day_and_earlier_lists_stay(pool: asyncpg.Pool) -> None:
    """Two provinces merge into a third on 1 July. Until its first consolidated report the successor carries
    their last figures with its own: the national total year to date is the same on 1 July as on 30 June
    (before, theirs vanished until that report); the list of 30 June is the same after the merger is
    recorded; the consolidated report then replaces what was carried."""
    june_30, july_1, july_31 = dt.date(2025, 6, 30), dt.date(2025, 7, 1), dt.date(2025, 7, 31)
    async with pool.acquire() as conn:
        await apply(conn, [unit("lam-dong"), unit("dak-nong"), unit("binh-thuan"), unit("ha-noi"),
                           plan("lam-dong", 1000), plan("dak-nong", 500), plan("binh-thuan", 500), plan("ha-noi", 2000),
                           report("lam-dong", 300, june_30), report("dak-nong", 100, june_30),
                           report("binh-thuan", 250, june_30), report("ha-noi", 800, june_30)], start=1)  # fmt: skip
        on_june_30 = await published(conn, june_30)
        await apply(conn, [UnitsMerged(unit_code="lam-dong", predecessor_codes=["dak-nong", "binh-thuan"],
                                       effective_date=july_1)], start=100)  # fmt: skip
        assert await published(conn, june_30) == on_june_30
        (before,) = await standings(conn, june_30, DISB, 2025, "national")
        (merger_day,) = await standings(conn, july_1, DISB, 2025, "national")
        await apply(conn, [report("lam-dong", 700, july_31), report("ha-noi", 900, july_31)], start=200)
        (consolidated,) = await standings(conn, july_31, DISB, 2025, "national")
        assert await published(conn, june_30) == on_june_30
    assert (before.total_actual, before.total_basis) == (1450, 4000)
    assert merger_day.as_of == july_1 and (merger_day.total_actual, merger_day.total_basis) == (1450, 4000)
    successor = next(u for lst in merger_day.lists for u in (*lst.at_or_above, *lst.below) if u.unit_code == "lam-dong")
    assert (successor.actual, successor.plan, successor.figures_as_of) == (650, 2000, july_1)
    assert merger_day.members == 2
    assert (consolidated.total_actual, consolidated.total_basis) == (1600, 4000)


def milestones(code: str, decided: dt.date, *points: tuple[dt.date, str], number: str = "88/QĐ-UBND") -> DomainEvent:
    return UnitMilestonesSet(unit_code=code, indicator=DISB, plan_year=2025, decision_number=number,
                             decision_date=decided, decision_authority="UBND tỉnh",
                             milestones=[UnitMilestone(by=by, share=D(share)) for by, share in points])  # fmt: skip


async def test_a_units_own_milestones_set_its_pace_and_status_from_their_decision(pool: asyncpg.Pool) -> None:
    """A province fixes a unit's targets for the last quarter on 1 October: 75 % by 31 October, 85 % by
    30 November. At 66 % on 31 October the unit is behind its own milestone (on track against the curve's
    68.8 %); September's row stays on the curve; the rows name the decision; a later decision with no
    milestones returns the unit to the curve from its date."""
    september, october = dt.date(2025, 9, 30), dt.date(2025, 10, 31)
    async with pool.acquire() as conn:
        await apply(conn, [unit("a"), plan("a", 1000), report("a", 600, september), report("a", 660, october)], 1)
        before = await conn.fetch("SELECT * FROM unit_progress_history WHERE as_of = $1", september)
        on_curve = await conn.fetchval(
            "SELECT status FROM unit_progress_history WHERE category = '' AND as_of = $1", october
        )
        await apply(conn, [milestones("a", dt.date(2025, 10, 1), (october, "0.75"), (NOV_30, "0.85"))], 100)
        rows = {r["as_of"]: r for r in await conn.fetch("SELECT * FROM unit_progress_history WHERE category = ''")}
        assert await conn.fetch("SELECT * FROM unit_progress_history WHERE as_of = $1", september) == before
        await apply(conn, [milestones("a", dt.date(2025, 11, 15), number="99/QĐ-UBND"),
                           report("a", 800, NOV_30)], 200)  # fmt: skip
        november = await conn.fetchrow("SELECT * FROM unit_progress_history WHERE category = '' AND as_of = $1", NOV_30)
    assert (rows[september]["pace_decision"], rows[september]["status"]) == (None, "on_track")
    assert (rows[october]["expected_pace"], rows[october]["pace_decision"]) == (D("0.75"), "88/QĐ-UBND")
    assert (on_curve, rows[october]["status"]) == ("on_track", "behind")  # 66 % against 75 %: beyond 5 points
    assert november["pace_decision"] is None and november["expected_pace"] < D("0.85")  # back on the curve


async def test_an_alert_reads_the_plan_its_figures_were_held_to_not_a_later_revision(pool: asyncpg.Pool) -> None:
    """The alerts quote "year to date / plan": the plan in force on the figures' date (the projector's), so an
    alert on November's figures does not quote a plan decided on 28 December."""
    async with pool.acquire() as conn:
        await apply(conn, [unit("a"), plan("a", 1000), report("a", 300), revised("a", 2000, DEC_28)], start=1)
        facts = await load_facts(conn, "a", 2025, RULES)
    (disbursement,) = [i for i in facts.indicators if i.indicator == DISB]
    assert (disbursement.target, disbursement.points[-1].rate) == (1000, D("0.3"))


async def test_a_dissolved_district_hands_its_plan_and_year_to_date_to_its_receivers(pool: asyncpg.Pool) -> None:
    """A district abolished on 1 July hands its plan (600) and year to date (300) to the province's project
    board and two new communes in stated amounts. The province's list keeps its totals on 1 July without the
    district; each receiver carries its part until its own first report from then; the list of 30 June is
    the same after the dissolution is recorded."""
    june_30, july_1, july_31 = dt.date(2025, 6, 30), dt.date(2025, 7, 1), dt.date(2025, 7, 31)

    def member(code: str, level: str) -> UnitRegistered:
        return UnitRegistered(unit_code=code, name=f"Đơn vị {code}", level=level, parent_code="tinh", committee="UBKT")

    def handover(code: str, plan_part: int, done: int) -> Handover:
        return Handover(receiver_code=code, indicator=DISB, plan_year=2025, plan=D(plan_part), year_to_date=D(done))

    async def province_on(conn: asyncpg.Connection, day: dt.date) -> GroupStandings:
        (group,) = await standings(conn, day, DISB, 2025, "province/tinh")
        return group

    async with pool.acquire() as conn:
        await apply(conn, [unit("tinh"), member("huyen", "district"), member("ban-qlda", "department"),
                           member("xa-a", "commune"), member("xa-b", "commune"),
                           plan("huyen", 600), plan("ban-qlda", 400), report("huyen", 300, june_30),
                           report("ban-qlda", 100, june_30)], start=1)  # fmt: skip
        on_june_30 = json.dumps(standings_json([await province_on(conn, june_30)]))
        await apply(conn, [UnitDissolved(unit_code="huyen", effective_date=july_1, decision_number="1656/NQ-UBTVQH15",
                                         handovers=[handover("ban-qlda", 300, 150), handover("xa-a", 200, 100),
                                                    handover("xa-b", 100, 50)])], start=100)  # fmt: skip
        assert json.dumps(standings_json([await province_on(conn, june_30)])) == on_june_30
        merger_day = await province_on(conn, july_1)
        await apply(conn, [report("xa-a", 130, july_31)], start=200)  # its first report, consolidated
        later = await province_on(conn, july_31)
    before = json.loads(on_june_30)[0]
    assert (before["total_actual"], before["total_basis"]) == ("400", "1000")
    assert (merger_day.total_actual, merger_day.total_basis) == (400, 1000)  # nothing vanished on 1 July
    shown = {u.unit_code: (u.plan, u.actual) for lst in merger_day.lists for u in (*lst.at_or_above, *lst.below)}
    assert shown == {"ban-qlda": (700, 250), "xa-a": (200, 100), "xa-b": (100, 50)}  # the district has left
    assert (later.total_actual, later.total_basis) == (250 + 130 + 50, 1000)  # xa-a's report replaced its part


async def test_a_unit_moved_to_another_province_leaves_the_lists_before_its_date_as_they_were(
    pool: asyncpg.Pool,
) -> None:
    """A commune moved from province p to province q from 15 December: both provinces' lists of 11 December
    are the same after the move is recorded; from the 15th (a date of the lists of its own) it counts in q
    with its last figures and not in p. A move registered with no date takes effect the day it is recorded:
    a later one never rewrites last year's lists."""
    dec_15 = dt.date(2025, 12, 15)

    def commune(code: str, parent: str, effective_from: dt.date | None = None) -> UnitRegistered:
        return UnitRegistered(unit_code=code, name=f"Xã {code}", level="commune", parent_code=parent,
                              committee="UBKT", effective_from=effective_from)  # fmt: skip

    async def lists_on(conn: asyncpg.Connection, day: dt.date) -> str:
        groups = [g for code in ("p", "q") for g in await standings(conn, day, DISB, 2025, f"province/{code}")]
        return json.dumps(standings_json(groups), ensure_ascii=False)

    async def members(conn: asyncpg.Connection, day: dt.date, province: str) -> dict[str, Decimal]:
        (group,) = await standings(conn, day, DISB, 2025, f"province/{province}")
        return {u.unit_code: u.actual for lst in group.lists for u in (*lst.at_or_above, *lst.below)}

    async with pool.acquire() as conn:
        await apply(conn, [unit("p"), unit("q"), commune("x", "p"), commune("y", "p"), commune("z", "q"),
                           plan("x", 1000), plan("y", 1000), plan("z", 1000),
                           report("x", 600), report("y", 300), report("z", 500)], start=1)  # fmt: skip
        on_dec_11, rows_before = await lists_on(conn, DEC_11), await list_rows(conn, DEC_11)
        await apply(conn, [commune("x", "q", effective_from=dec_15)], start=100)
        assert await lists_on(conn, DEC_11) == on_dec_11
        assert await list_rows(conn, dec_15 - dt.timedelta(days=1)) == rows_before
        assert await members(conn, DEC_11, "p") == {"x": 600, "y": 300}
        assert await members(conn, dec_15, "p") == {"y": 300}
        assert await members(conn, dec_15, "q") == {"x": 600, "z": 500}
        (q_on_dec_15,) = await standings(conn, dec_15, DISB, 2025, "province/q")
        assert q_on_dec_15.as_of == dec_15 and (q_on_dec_15.total_actual, q_on_dec_15.total_basis) == (1100, 2000)

        # q renamed and y moved with no date, recorded on 5 January 2026: 2025's December lists stay.
        on_dec_31 = await lists_on(conn, dt.date(2025, 12, 31))
        renamed = UnitRegistered(unit_code="z", name="Xã Hòa Bình", level="commune", parent_code="q", committee="UBKT")
        moved = recorded([commune("y", "q"), renamed], start=200)
        moved = [r.model_copy(update={"recorded_at": dt.datetime(2026, 1, 5, 3, tzinfo=dt.UTC)}) for r in moved]
        async with conn.transaction():
            await apply_events(conn, moved, RULES)
        assert await lists_on(conn, dt.date(2025, 12, 31)) == on_dec_31
        assert await members(conn, dt.date(2026, 1, 5), "q") == {"x": 600, "y": 300, "z": 500}


async def test_a_later_report_of_another_unit_leaves_an_earlier_list_as_it_was(pool: asyncpg.Pool) -> None:
    """b reports for 31 December: the national list of 11 December, as the API sends it and as the dashboards
    read it, is byte for byte the same; the list of 31 December has a's standing moved by b's report alone."""
    async with pool.acquire() as conn:
        await apply(conn, [unit("a"), unit("b"), plan("a", 1000), plan("b", 1000),
                           report("a", 500), report("b", 450)], start=1)  # fmt: skip
        on_dec_11, rows_before = await published(conn, DEC_11), await list_rows(conn, DEC_11)
        await apply(conn, [report("b", 900, dt.date(2025, 12, 31))], start=100)
        assert await published(conn, DEC_11) == on_dec_11
        assert await list_rows(conn, DEC_11) == rows_before
        (year_end,) = await standings(conn, dt.date(2025, 12, 31), DISB, 2025, "national")
    assert [u.unit_code for u in year_end.lists[1].below] == ["a"]  # 50 % against 70 %: moved by b alone
