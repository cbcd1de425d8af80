"""Standings as the Ministry of Finance publishes them, from the projector's assessment groups, against
real PostgreSQL: constructed cases for each rule (docs/assessment-rules.md)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

import asyncpg
import pytest

from services.projector.assessment import NATIONAL, AssessmentConfig, AssessmentGroup
from services.projector.progress_rules import ProgressRules
from services.projector.recompute import recompute
from services.projector.standings import GroupStandings, UnitStanding, standings
from services.projector.touched import Touched
from shared.event_store import recorded_event
from shared.events import DisbursementReported, DomainEvent, TargetAdjusted, TargetSet, UnitRegistered
from tests.integration.ingest_fixtures import Ingest
from tests.integration.projector_helpers import apply_events
from tests.integration.test_projection_order import recorded

pytestmark = pytest.mark.postgres
D = Decimal
RULES = ProgressRules()
OCT = dt.date(2025, 10, 31)
DISB = "public_investment_disbursement"


def unit(code: str, level: str = "province", parent: str | None = None) -> UnitRegistered:
    return UnitRegistered(unit_code=code, name=f"Đơn vị {code}", level=level, parent_code=parent, committee="UBKT")


def plan(code: str, amount: int) -> TargetSet:
    return TargetSet(unit_code=code, indicator=DISB, plan_year=2025, amount=D(amount))


def report(code: str, amount: int, on: dt.date = OCT) -> DisbursementReported:
    return DisbursementReported(unit_code=code, plan_year=2025, category="central_budget", as_of=on, amount=D(amount))


async def lists(
    pool: asyncpg.Pool,
    events: Sequence[DomainEvent],
    group: str = "national",
    rules: ProgressRules = RULES,
    on: dt.date = OCT,
) -> GroupStandings:
    async with pool.acquire() as conn:
        async with conn.transaction():
            await apply_events(conn, recorded(list(events)), rules)
        (result,) = await standings(conn, on, DISB, 2025, group)
    return result


def weighted(group: GroupStandings) -> tuple[Decimal | None, Decimal | None]:
    """The group's totals: its average is their quotient (kept to 20 significant digits)."""
    return group.total_actual, group.total_basis


def units_of(group: GroupStandings) -> dict[str, UnitStanding]:
    found = {u.unit_code: u for lst in group.lists for u in (*lst.at_or_above, *lst.below)}
    return found | {u.unit_code: u for u in group.not_assessed}


async def test_central_agencies_and_provinces_under_a_common_parent_are_held_to_one_national_average(
    pool: asyncpg.Pool,
) -> None:
    """Registered under one national unit, the agencies and provinces still make one group: an agency well
    above the national average is listed at or above it, not held to the other agencies alone."""
    group = await lists(pool, [
        unit("viet-nam", "central"), unit("bo-a", "central", "viet-nam"), unit("bo-b", "central", "viet-nam"),
        unit("tinh-x", "province", "viet-nam"), unit("tinh-y", "province", "viet-nam"),
        plan("viet-nam", 0), plan("bo-a", 100), plan("bo-b", 100), plan("tinh-x", 1000), plan("tinh-y", 1000),
        report("bo-a", 50), report("bo-b", 90), report("tinh-x", 300), report("tinh-y", 400),
    ])  # fmt: skip
    assert weighted(group) == (840, 2200)  # 38.18 %; the agencies alone would average 70 %
    shown = units_of(group)
    assert shown["bo-a"].standing == "at_or_above"  # 50 % > 38.18 %: below the agencies' 70 %, above the nation's
    assert [lst.list_id for lst in group.lists] == ["central", "local"]
    assert {u.unit_code for u in group.lists[0].at_or_above} == {"bo-a", "bo-b"}
    assert [(u.unit_code, u.rank, u.list_rank) for u in group.lists[1].at_or_above] == [("tinh-y", 3, 1)]
    assert shown["viet-nam"].not_assessed_reason == "no_plan"


async def test_the_weighted_average_not_the_mean_of_rates_decides(pool: asyncpg.Pool) -> None:
    """A small unit at 90 % and a large one at 40 %: the mean of rates (65 %) would put a 50 % unit below;
    total disbursed over total plan (42.6 %) puts it at or above."""
    group = await lists(pool, [
        unit("nho"), unit("lon"), unit("giua"), plan("nho", 100), plan("lon", 10_000), plan("giua", 1000),
        report("nho", 90), report("lon", 4000), report("giua", 500),
    ])  # fmt: skip
    assert weighted(group) == (4590, 11_100)
    assert units_of(group)["giua"].standing == "at_or_above"


async def test_a_unit_with_a_plan_and_no_report_counts_with_zero_and_is_marked(pool: asyncpg.Pool) -> None:
    """Total disbursed over total plan assigned: the silent unit's plan stays in the denominator."""
    group = await lists(pool, [
        unit("a"), unit("b"), unit("im-lang"), plan("a", 1000), plan("b", 2000), plan("im-lang", 3000),
        report("a", 800), report("b", 1200),
    ])  # fmt: skip
    silent = units_of(group)["im-lang"]
    assert weighted(group) == (2000, 6000)  # 33.33 %, not 2000 / 3000 = 66.67 %
    assert (silent.reported, silent.actual, silent.standing, silent.rank) == (False, 0, "below", 3)
    assert (group.assessed, group.no_report, group.members) == (3, 1, 3)


async def test_a_unit_without_a_plan_or_with_a_plan_of_zero_is_outside_the_average(pool: asyncpg.Pool) -> None:
    group = await lists(pool, [
        unit("a"), unit("b"), unit("c"), plan("a", 1000), plan("b", 0), report("a", 500), report("b", 100),
        report("c", 100),
    ])  # fmt: skip
    assert weighted(group) == (500, 1000)
    assert {u.unit_code: u.not_assessed_reason for u in group.not_assessed} == {"b": "no_plan", "c": "no_plan"}


def late(code: str, amount: int, supplement: int, decided: dt.date = dt.date(2025, 10, 20)) -> TargetAdjusted:
    return TargetAdjusted(unit_code=code, indicator=DISB, plan_year=2025, amount=D(amount),
                          late_supplement=D(supplement), decision_date=decided)  # fmt: skip


async def test_a_late_supplement_takes_the_unit_out_of_both_lists_from_its_decision(pool: asyncpg.Pool) -> None:
    events = [
        unit("a"), unit("b"), unit("bo-sung"), plan("a", 1000), plan("b", 1000), plan("bo-sung", 1000),
        report("a", 600, dt.date(2025, 9, 30)), report("b", 400, dt.date(2025, 9, 30)),
        report("bo-sung", 200, dt.date(2025, 9, 30)), late("bo-sung", 1500, 500),
        report("a", 700), report("b", 500), report("bo-sung", 300),
    ]  # fmt: skip
    october = await lists(pool, events)
    assert units_of(october)["bo-sung"].not_assessed_reason == "late_supplement"
    assert weighted(october) == (1200, 2000)  # the others only
    async with pool.acquire() as conn:
        (september,) = await standings(conn, dt.date(2025, 9, 30), DISB, 2025, "national")
    assert units_of(september)["bo-sung"].standing == "below"  # before the decision it was assessed
    assert weighted(september) == (1200, 3000)


async def test_a_group_may_assess_a_late_supplement_on_the_comparable_plan(pool: asyncpg.Pool) -> None:
    comparable = AssessmentGroup.model_validate(NATIONAL.model_dump() | {"late_supplement": "comparable_plan"})
    rules = ProgressRules(assessment=AssessmentConfig(groups=[comparable]))
    group = await lists(pool, [
        unit("a"), unit("bo-sung"), plan("a", 1000), plan("bo-sung", 1000), late("bo-sung", 1500, 500),
        report("a", 500), report("bo-sung", 900),
    ], rules=rules)  # fmt: skip
    shown = units_of(group)["bo-sung"]
    assert (shown.basis, shown.rate, shown.standing) == (1000, D("0.9"), "at_or_above")  # 900 of 1000, not of 1500
    assert weighted(group) == (1400, 2000)


async def test_a_province_compares_its_own_departments_and_communes(pool: asyncpg.Pool) -> None:
    group = await lists(pool, [
        unit("tinh"), unit("so-xd", "department", "tinh"), unit("huyen", "district", "tinh"),
        unit("xa-1", "commune", "huyen"), unit("xa-2", "commune", "huyen"), unit("tinh-khac"),
        unit("xa-khac", "commune", "tinh-khac"),
        plan("so-xd", 100), plan("xa-1", 100), plan("xa-2", 100), plan("xa-khac", 100),
        report("so-xd", 80), report("xa-1", 20), report("xa-2", 50), report("xa-khac", 99),
    ], group="province/tinh")  # fmt: skip
    assert set(units_of(group)) == {"so-xd", "xa-1", "xa-2"}  # its subtree only; the district has no plan, no row
    assert weighted(group) == (150, 300)
    assert [lst.list_id for lst in group.lists] == ["departments", "local"]
    assert [u.unit_code for u in group.lists[1].below] == ["xa-1"]


async def test_ranks_tie_only_when_rates_are_equal_as_fractions(pool: asyncpg.Pool) -> None:
    """1/3 and 333,333/1,000,000 agree to 1e-6 but are not equal; 1/3 and 2/6 are."""
    group = await lists(pool, [
        unit("a"), unit("b"), unit("c"), plan("a", 3), plan("b", 1_000_000), plan("c", 6),
        report("a", 1), report("b", 333_333), report("c", 2),
    ])  # fmt: skip
    ranks = {u.unit_code: u.rank for u in units_of(group).values()}
    assert ranks == {"a": 1, "c": 1, "b": 3}


async def test_a_member_reporting_rewrites_its_own_rows_and_the_totals_not_its_peers_rows(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        async with conn.transaction():
            await apply_events(conn, recorded([unit("a"), unit("b"), plan("a", 100), plan("b", 100),
                                               report("a", 10), report("b", 20)]), RULES)  # fmt: skip
        before = await conn.fetch("SELECT xmin::text, * FROM assessment_rows WHERE unit_code = 'b' ORDER BY as_of")
        async with conn.transaction():
            await apply_events(conn, recorded([report("a", 90, dt.date(2025, 11, 30))], start=100), RULES)
        after = await conn.fetch("SELECT xmin::text, * FROM assessment_rows WHERE unit_code = 'b' ORDER BY as_of")
        (november,) = await standings(conn, dt.date(2025, 11, 30), DISB, 2025, "national")
    assert before == after  # b's rows untouched
    assert units_of(november)["b"].standing == "below" and weighted(november) == (110, 200)


async def post_plans(ingest: Ingest, plans: dict[str, str]) -> None:
    """2025 disbursement plans through the API, as an admin sets them."""
    targets = [
        {"unit_code": code, "indicator": DISB, "plan_year": 2025, "amount": amount} for code, amount in plans.items()
    ]
    response = await ingest.client.post("/v1/targets", json={"targets": targets}, headers=ingest.admin)
    assert response.status_code == 201, response.text


async def test_standings_over_http_with_any_token_exact_decimals(ingest: Ingest) -> None:
    await post_plans(ingest, {"lam-dong": "3000", "hue": "1000"})
    assert (await ingest.figures({"unit_code": "hue", "plan_year": 2025, "category": "central_budget",
                                  "as_of": "2025-10-31", "amount": "700"})).status_code == 201  # fmt: skip
    async with ingest.pool.acquire() as conn:
        stored = [recorded_event(r) for r in await conn.fetch("SELECT * FROM events ORDER BY position")]
        async with conn.transaction():
            await apply_events(conn, stored, RULES)
    answer = await ingest.projector.get(
        "/v1/standings", params={"as_of": "2025-11-05", "group": "national"}, headers=ingest.lam_dong
    )
    assert answer.status_code == 200, answer.text
    (national,) = answer.json()["groups"]
    assert D(national["average"]) == D("0.175") and national["no_report"] == 1
    central, local = national["lists"]
    assert central["list_id"] == "central" and central["at_or_above"] == central["below"] == []
    assert [u["unit_code"] for u in local["at_or_above"]] == ["hue"]
    assert [(u["unit_code"], u["reported"], u["actual"]) for u in local["below"]] == [("lam-dong", False, "0")]
    assert (await ingest.projector.get("/v1/standings", params={"as_of": "2025-11-05"})).status_code == 401


async def test_a_negative_plan_and_an_early_late_supplement_are_refused_naming_the_field(ingest: Ingest) -> None:
    negative = await ingest.client.post(
        "/v1/targets",
        json={"targets": [{"unit_code": "hue", "indicator": DISB, "plan_year": 2025, "amount": "-5"}]},
        headers=ingest.admin,
    )
    assert negative.status_code == 422
    assert [e["field"] for e in negative.json()["errors"]] == ["targets.amount"]
    early = await ingest.client.post(
        "/v1/targets",
        json={"adjustments": [{"unit_code": "hue", "indicator": DISB, "plan_year": 2025, "amount": "1500",
                               "late_supplement": "500", "decision_date": "2025-09-15"}]},
        headers=ingest.admin,
    )  # fmt: skip
    assert early.status_code == 422
    (error,) = early.json()["errors"]
    assert error["field"] == "adjustments.decision_date" and "30/09/2025" in error["reason"]
    assert await ingest.event_count() == 3  # the registry only


def decimals_in(value: object, field: str = "") -> list[tuple[str, str]]:
    """Every (field, text) of the answer's money and rates."""
    money = {"plan", "basis", "actual", "rate", "average", "total_basis", "total_actual"}
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in decimals_in(v, k)]
    if isinstance(value, list):
        return [pair for v in value for pair in decimals_in(v, field)]
    return [(field, value)] if field in money and isinstance(value, str) else []


async def test_standings_leave_the_api_as_plain_decimals_never_in_exponent_notation(ingest: Ingest) -> None:
    """Sums of PostgreSQL numerics come back as Decimal('2.4000E+12'): the API sends digits, which its own
    input accepts, and the same values."""
    await post_plans(ingest, {"lam-dong": "2400000000000", "hue": "30000000000000"})
    for code, amount in (("hue", "15516550000000"), ("lam-dong", "1200000000000.50")):
        figure = {"unit_code": code, "plan_year": 2025, "category": "central_budget", "as_of": "2025-10-31",
                  "amount": amount}  # fmt: skip
        assert (await ingest.figures(figure)).status_code == 201
    async with ingest.pool.acquire() as conn:
        stored = [recorded_event(r) for r in await conn.fetch("SELECT * FROM events ORDER BY position")]
        async with conn.transaction():
            await apply_events(conn, stored, RULES)
    answer = await ingest.projector.get("/v1/standings", params={"as_of": "2025-11-05"}, headers=ingest.lam_dong)
    assert answer.status_code == 200, answer.text
    shown = decimals_in(answer.json())
    assert {field for field, _ in shown} >= {"plan", "actual", "rate", "average", "total_basis", "total_actual"}
    assert [(f, t) for f, t in shown if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", t)] == []
    by_field = {f: t for f, t in shown}
    assert D(by_field["total_actual"]) == D("16716550000000.50")
    units = {
        u["unit_code"]: u for lst in answer.json()["groups"][0]["lists"] for u in lst["at_or_above"] + lst["below"]
    }
    assert (units["lam-dong"]["plan"], units["hue"]["actual"]) == ("2400000000000", "15516550000000")


async def test_in_january_the_lists_of_both_open_plan_years_are_given(ingest: Ingest) -> None:
    """On 31 January the previous year's disbursement is measured for the last time while the new year's has
    begun: without a plan year, the API answers both (newest first); from 1 February, the new year only."""
    plan_2026 = [
        TargetSet(unit_code=code, indicator=DISB, plan_year=2026, amount=D(amount), decision_date=dt.date(2025, 12, 15))
        for code, amount in (("hue", 2000), ("lam-dong", 4000))
    ]
    events = [plan("hue", 1000), plan("lam-dong", 3000), *plan_2026,
              report("hue", 950, dt.date(2026, 1, 31)), report("lam-dong", 2400, dt.date(2026, 1, 31)),
              DisbursementReported(unit_code="hue", plan_year=2026, category="central_budget",
                                   as_of=dt.date(2026, 1, 31), amount=D(100))]  # fmt: skip
    async with ingest.pool.acquire() as conn:
        registry = [recorded_event(r) for r in await conn.fetch("SELECT * FROM events ORDER BY position")]
        async with conn.transaction():
            await apply_events(conn, [*registry, *recorded(events, start=10_000)], RULES)

    async def lists_on(day: str) -> dict[str, object]:
        answer = await ingest.projector.get("/v1/standings", params={"as_of": day, "group": "national"},
                                         headers=ingest.lam_dong)  # fmt: skip
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    january = await lists_on("2026-01-31")
    assert (january["plan_year"], january["plan_years"]) == (2026, [2026, 2025])
    groups = january["groups"]
    assert isinstance(groups, list)
    assert [(g["plan_year"], g["total_actual"], g["total_basis"]) for g in groups] == [
        (2026, "100", "6000"), (2025, "3350", "4000"),
    ]  # fmt: skip
    february = await lists_on("2026-02-01")
    assert (february["plan_year"], february["plan_years"]) == (2026, [2026])
    asked = await ingest.projector.get("/v1/standings", headers=ingest.lam_dong,
                                    params={"as_of": "2026-02-01", "group": "national", "plan_year": 2025})  # fmt: skip
    assert [g["plan_year"] for g in asked.json()["groups"]] == [2025]  # a closed year, when asked for


def assigned(code: str, amount: int, by: str) -> TargetSet:
    return TargetSet(unit_code=code, indicator=DISB, plan_year=2025, amount=D(amount), assigned_by=by)


async def test_each_group_ranks_on_the_plan_it_names_and_says_whose_plan_it_is(pool: asyncpg.Pool) -> None:
    """A province holds the Prime Minister's plan (900) and its own with local capital (1,000): the national
    lists rank it on the Prime Minister's; its own group ranks its departments on the province's plans, and a
    department with one plan on that one. Registering the province's plan no longer moves the national
    average."""
    events = [
        unit("tinh-x"), unit("tinh-y"), unit("so-a", "department", "tinh-x"), unit("so-b", "department", "tinh-x"),
        assigned("tinh-x", 900, "prime_minister"), assigned("tinh-x", 1000, "province"),
        assigned("tinh-y", 1000, "prime_minister"),
        assigned("so-a", 100, "province"), assigned("so-b", 200, "prime_minister"), assigned("so-b", 300, "province"),
        report("tinh-x", 450), report("tinh-y", 400), report("so-a", 50), report("so-b", 150),
    ]  # fmt: skip
    national = await lists(pool, events)
    async with pool.acquire() as conn:
        (province,) = await standings(conn, OCT, DISB, 2025, "province/tinh-x")
    assert weighted(national) == (850, 1900)  # the Prime Minister's plans
    x = units_of(national)["tinh-x"]
    assert (x.basis, x.rate, x.plan_assigned_by) == (900, D("0.5"), "prime_minister")
    assert weighted(province) == (200, 400)  # the province's plans: 100 + 300
    shown = units_of(province)
    assert {code: (u.basis, u.plan_assigned_by) for code, u in shown.items()} == {
        "so-a": (100, "province"), "so-b": (300, "province"),
    }  # fmt: skip
    async with pool.acquire() as conn:
        rates = dict(
            await conn.fetch("SELECT unit_code, rate FROM unit_progress WHERE unit_code IN ('tinh-x', 'so-b')")
        )
    assert rates == {"tinh-x": D("0.5"), "so-b": D("0.5")}  # each on its home group's plan: one rate per unit

    # The groups file changed: the province's groups now rank on the Prime Minister's plans. so-b's progress
    # follows at the projector's next batch (before: only a rebuild moved it).
    provinces = next(g for g in RULES.assessment.groups if g.id == "province")
    changed = RULES.assessment.model_copy(update={"groups": [
        g if g is not provinces else provinces.model_copy(update={"plan_assigned_by": "prime_minister"})
        for g in RULES.assessment.groups]})  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        await recompute(conn, Touched(), replace(RULES, assessment=changed))
        rate = await conn.fetchval("SELECT rate FROM unit_progress WHERE unit_code = 'so-b'")
    assert rate == D("0.75")  # 150 of the Prime Minister's 200
