"""The unit-progress history the projector keeps, checked row by row against real PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from services.projector.assessment import NATIONAL, AssessmentConfig, AssessmentGroup
from services.projector.progress_rules import ProgressRules
from services.projector.time_travel import progress_as_known_on
from shared.contracts import ProgressChanged
from shared.events import (
    DisbursementReported,
    FigureCorrected,
    RecordedEvent,
    TargetAdjusted,
    TargetSet,
    UnitRegistered,
    UnitsMerged,
)
from shared.settings import Settings
from tests.integration.projector_helpers import apply_events
from tests.integration.test_projection_order import recorded

pytestmark = pytest.mark.postgres
D = Decimal
RULES = ProgressRules()


def disbursed(category: str, month: int, amount: int, kind: str = "cumulative") -> DisbursementReported:
    return DisbursementReported(
        unit_code="hue", plan_year=2025, category=category, as_of=dt.date(2025, month, 28), amount_kind=kind,
        amount=D(amount),
    )  # fmt: skip


def report(unit: str, month: int, amount: int) -> DisbursementReported:
    return DisbursementReported(unit_code=unit, plan_year=2025, category="central_budget",
                                as_of=dt.date(2025, month, 28), amount=D(amount))  # fmt: skip


def plan(unit: str, amount: int = 1000) -> TargetSet:
    return TargetSet(unit_code=unit, indicator="public_investment_disbursement", plan_year=2025, amount=D(amount))


def province(code: str, name: str) -> UnitRegistered:
    return UnitRegistered(unit_code=code, name=name, level="province", committee="UBKT Trung ương")


def commune(code: str, name: str, district: str, effective_from: dt.date | None = None) -> UnitRegistered:
    return UnitRegistered(unit_code=code, name=name, level="commune", parent_code=district, committee="UBKT",
                          effective_from=effective_from)  # fmt: skip


async def project(
    conn: asyncpg.Connection, *batches: list[RecordedEvent], rules: ProgressRules = RULES
) -> list[ProgressChanged]:
    """Project each batch in a transaction of its own, as the projector does; the changes announced."""
    changes = []
    for batch in batches:
        async with conn.transaction():
            changes += await apply_events(conn, batch, rules)
    return changes


# Communes compared district by district (the default compares a province's communes together).
BY_DISTRICT = ProgressRules(
    assessment=AssessmentConfig(
        groups=[NATIONAL, AssessmentGroup(id="district", name="Xã của {name}", levels=["commune"], for_each="district")]
    ),
)


def district(code: str) -> UnitRegistered:
    return UnitRegistered(unit_code=code, name=f"Huyện {code}", level="district", committee="UBKT")


async def history(pool: asyncpg.Pool, *events: object) -> dict[tuple[str, int], tuple[object, ...]]:
    async with pool.acquire() as conn:
        await project(conn, recorded(list(events)))  # type: ignore[arg-type]
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
    assert ("local_budget", 3) not in rows  # a category has rows from its first report on
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
        await project(conn, stamped)

        async def total(day: dt.date) -> object:
            rows = await progress_as_known_on(conn, day, RULES)
            return next((r["actual_ytd"] for r in rows if r["category"] == ""), None)

        assert await total(dt.date(2025, 2, 1)) is None  # nothing known yet
        assert await total(dt.date(2025, 2, 10)) == 100  # the first report
        assert await total(dt.date(2025, 2, 25)) == 140  # + the backfill, known from its document's date
        assert await total(dt.date(2025, 3, 15)) == 120  # the correction
        current = await conn.fetchval("SELECT actual_ytd FROM unit_progress WHERE unit_code = 'hue'")
        assert current == 120


async def test_month_end_snapshots_hold_what_was_known_then_and_follow_backfills(pool: asyncpg.Pool) -> None:
    """The snapshot of each month end that has passed equals `progress_as_known_on` that day (the same
    code); a report known later leaves it alone, a backfill dated before it updates it."""

    def on(month: int, day: int) -> dt.datetime:
        return dt.datetime(2025, month, day, 9, tzinfo=dt.UTC)

    events = [
        TargetSet(unit_code="hue", indicator="public_investment_disbursement", plan_year=2025, amount=D(1000),
                  decision_date=dt.date(2024, 12, 10)),
        disbursed("central_budget", 1, 100), disbursed("central_budget", 2, 300),
    ]  # fmt: skip
    stamped = [r.model_copy(update={"recorded_at": at})
               for r, at in zip(recorded(events), [on(4, 1), on(2, 3), on(3, 4)], strict=True)]  # fmt: skip
    backfill = disbursed("local_budget", 1, 40).model_copy(update={"document_date": dt.date(2025, 2, 20)})
    late = recorded([backfill], start=10)[0].model_copy(update={"recorded_at": on(5, 2)})

    async def snapshots(conn: asyncpg.Connection) -> dict[dt.date, tuple[object, ...]]:
        rows = await conn.fetch("SELECT known_on, as_of, actual_ytd, target FROM known_on_progress ORDER BY 1")
        return {r["known_on"]: (r["as_of"].month, r["actual_ytd"], r["target"]) for r in rows}

    async with pool.acquire() as conn:
        async with conn.transaction():
            await apply_events(conn, stamped, RULES, today=dt.date(2025, 4, 15))
        before = await snapshots(conn)
        async with conn.transaction():
            await apply_events(conn, [late], RULES, today=dt.date(2025, 5, 15))
        after = await snapshots(conn)
        known_on_march = [r for r in await progress_as_known_on(conn, dt.date(2025, 3, 31), RULES) if not r["category"]]
    # January: nothing known; February: the January report, the plan decided in December; March: February's
    assert before == {dt.date(2025, 2, 28): (1, 100, 1000), dt.date(2025, 3, 31): (2, 300, 1000)}
    # The backfill of 20 February changes February's and March's snapshots (nothing was known after March:
    # no later snapshot is kept)
    assert after == {dt.date(2025, 2, 28): (1, 140, 1000), dt.date(2025, 3, 31): (2, 340, 1000)}
    assert (known_on_march[-1]["as_of"].month, known_on_march[-1]["actual_ytd"]) == after[dt.date(2025, 3, 31)][:2]


async def test_pim_progress_as_known_on_prints_the_past(pool: asyncpg.Pool, settings: Settings) -> None:
    events = [
        UnitRegistered(unit_code="hue", name="Thành phố Huế", level="province", committee="UBKT"),
        TargetSet(unit_code="hue", indicator="public_investment_disbursement", plan_year=2025, amount=D(10**12)),
        disbursed("central_budget", 1, 100 * 10**9),
        disbursed("central_budget", 2, 300 * 10**9),
    ]
    days = [dt.datetime(2025, m, d, tzinfo=dt.UTC) for m, d in ((1, 1), (1, 1), (2, 5), (3, 5))]
    stamped = [r.model_copy(update={"recorded_at": at}) for r, at in zip(recorded(events), days, strict=True)]
    async with pool.acquire() as conn:
        await project(conn, stamped)
    env = {**os.environ, "DATABASE_URL": str(settings.database_url), "COLUMNS": "200"}
    pim = str(Path(sys.executable).with_name("pim"))

    async def run(*args: str) -> str:
        done = await asyncio.to_thread(
            subprocess.run, [pim, "progress", *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    past, now = await run("--as-known-on", "2025-02-20"), await run()
    assert "Thành phố Huế" in past and "2025-01-28" in past and "10,0 %" in past
    assert "2025-02-28" in now and "30,0 %" in now


async def test_two_units_merged_mid_year_roll_their_history_into_the_successor(pool: asyncpg.Pool) -> None:
    events = [
        plan("lam-dong", 1000), plan("dak-nong", 500), plan("binh-thuan", 500),
        report("lam-dong", 5, 300), report("dak-nong", 5, 100), report("binh-thuan", 6, 250),
        UnitsMerged(unit_code="lam-dong", predecessor_codes=["dak-nong", "binh-thuan"],
                    effective_date=dt.date(2025, 7, 1), successor_reports="own_only"),
        report("lam-dong", 7, 450), report("lam-dong", 8, 500),
    ]  # fmt: skip
    async with pool.acquire() as conn:
        await project(conn, recorded(events))
        rows = await conn.fetch(
            "SELECT as_of, target, actual_ytd, rate FROM unit_progress_history"
            " WHERE unit_code = 'lam-dong' AND category = '' ORDER BY as_of"
        )
        predecessors = await conn.fetch("SELECT unit_code, as_of, actual_ytd FROM unit_progress")
    assert [(r["as_of"].month, r["target"], r["actual_ytd"]) for r in rows] == [
        (5, 1000, 300),  # before the merger: Lâm Đồng alone
        (7, 2000, 300 + 100 + 250),  # 1 July, the merger: what it carries, before any report of its own
        (7, 2000, 450 + 100 + 250),  # from 1 July: the merged units' figures and plans join
        (8, 2000, 500 + 100 + 250),
    ]
    assert rows[-1]["rate"] == D("0.425")
    # the predecessors keep their own history up to the merger
    assert {(r["unit_code"], r["actual_ytd"]) for r in predecessors} >= {("dak-nong", 100), ("binh-thuan", 250)}


async def test_merged_provinces_report_consolidated_year_to_date_figures(pool: asyncpg.Pool) -> None:
    """From 1 July 2025 a merged province's reports already include what its predecessors disbursed before
    the merger (the default convention): 1,200 of the joint 2,000 plan is 60 %, not 1,200 plus the
    predecessors' last figures; the predecessors stand in no list after the merger."""
    events = [
        province("lam-dong", "Lâm Đồng"), province("dak-nong", "Đắk Nông"), province("binh-thuan", "Bình Thuận"),
        plan("lam-dong", 1000), plan("dak-nong", 500), plan("binh-thuan", 500),
        report("lam-dong", 5, 300), report("dak-nong", 5, 100), report("binh-thuan", 6, 250),
        UnitsMerged(unit_code="lam-dong", predecessor_codes=["dak-nong", "binh-thuan"],
                    effective_date=dt.date(2025, 7, 1)),
        report("lam-dong", 8, 1200),
    ]  # fmt: skip
    async with pool.acquire() as conn:
        await project(conn, recorded(events))
        august = await conn.fetchrow("SELECT target, actual_ytd, rate FROM unit_progress WHERE unit_code = 'lam-dong'")
        listed = await conn.fetch(
            "SELECT unit_code, standing FROM assessment_standings WHERE group_id = 'national' AND as_of = '2025-08-28'"
        )
        june = await conn.fetch(
            "SELECT unit_code FROM assessment_standings WHERE group_id = 'national' AND as_of = '2025-06-28'"
        )
    assert (august["target"], august["actual_ytd"], august["rate"]) == (2000, 1200, D("0.6"))
    assert [(r["unit_code"], r["standing"]) for r in listed] == [("lam-dong", "at_or_above")]  # alone, at its own rate
    assert {r["unit_code"] for r in june} == {"lam-dong", "dak-nong", "binh-thuan"}  # before it: all three


async def test_units_merged_away_leave_their_peer_group_from_the_merger_date(pool: asyncpg.Pool) -> None:
    """After the merger their figures count only inside the successor's, not a second time on their own,
    even though they never report again (here the successor reports its own figures only)."""

    events = [
        province("lam-dong", "Lâm Đồng"), province("dak-nong", "Đắk Nông"), province("khanh-hoa", "Khánh Hòa"),
        plan("lam-dong", 1000), plan("dak-nong", 500), plan("khanh-hoa", 1000),
        report("lam-dong", 5, 300), report("dak-nong", 5, 100), report("khanh-hoa", 5, 200),
        UnitsMerged(unit_code="lam-dong", predecessor_codes=["dak-nong"], effective_date=dt.date(2025, 7, 1),
                    successor_reports="own_only"),
        report("lam-dong", 8, 600), report("khanh-hoa", 8, 400),
    ]  # fmt: skip
    async with pool.acquire() as conn:
        await project(conn, recorded(events))
        rows = await conn.fetch(
            "SELECT unit_code, as_of, average, standing, rank FROM assessment_standings"
            " WHERE group_id = 'national' AND extract(day FROM as_of) = 28 ORDER BY as_of, unit_code"
        )
    standing = {(r["unit_code"], r["as_of"].month): (r["average"], r["standing"], r["rank"]) for r in rows}
    assert ("dak-nong", 8) not in standing
    assert standing[("lam-dong", 5)] == (D("0.24"), "at_or_above", 1)  # (300 + 100 + 200) / 2500
    assert standing[("dak-nong", 5)] == (D("0.24"), "below", 2)  # tied with Khánh Hòa at 0.2
    # August: Lâm Đồng 700 of 1500 with Đắk Nông's figures and plan; Đắk Nông is no longer a peer on its own
    assert standing[("lam-dong", 8)] == (D("0.44"), "at_or_above", 1)  # (700 + 400) / 2500
    assert standing[("khanh-hoa", 8)] == (D("0.44"), "below", 2)


async def test_a_unit_whose_standing_a_peer_moved_is_announced(pool: asyncpg.Pool) -> None:
    """Đà Nẵng's own facts do not change, but Huế's late report for the same date puts it below the
    average: the projector announces Đà Nẵng too, so the alerts service need not guess."""
    events = recorded([
        province("da-nang", "Đà Nẵng"), province("hue", "Huế"), plan("da-nang"), plan("hue"),
        report("da-nang", 5, 300), report("hue", 5, 500),
    ])  # fmt: skip
    first, late = events[:-1], events[-1:]  # Huế's report arrives in a later batch
    async with pool.acquire() as conn:
        await project(conn, first)
        before = await conn.fetchrow("SELECT standing, version FROM unit_progress WHERE unit_code = 'da-nang'")
        changes = await project(conn, late)
        after = await conn.fetchrow("SELECT standing, version FROM unit_progress WHERE unit_code = 'da-nang'")
    assert (before["standing"], after["standing"]) == ("at_or_above", "below")
    assert {c.unit_code for c in changes} == {"da-nang", "hue"}
    (da_nang,) = [c for c in changes if c.unit_code == "da-nang"]
    assert da_nang.version == before["version"] == after["version"]  # no fact of its own changed


async def test_a_unit_moved_to_another_district_leaves_its_old_peer_group(pool: asyncpg.Pool) -> None:
    """Xã Hòa Vang moves from one district to another from 1 May (registered again with a new parent and that
    date): from then the average of the communes it left no longer counts it, and it stands among its new
    peers. (Undated, the move would take effect on the day recorded: `test_past_lists`.)"""

    events = recorded([
        district("huyen-a"), district("huyen-b"),
        commune("hoa-vang", "Hòa Vang", "huyen-a"), commune("hoa-bac", "Hòa Bắc", "huyen-a"),
        commune("hoa-son", "Hòa Sơn", "huyen-b"), plan("hoa-vang"), plan("hoa-bac"), plan("hoa-son"),
        report("hoa-vang", 5, 900), report("hoa-bac", 5, 100), report("hoa-son", 5, 300),
        commune("hoa-vang", "Hòa Vang", "huyen-b", effective_from=dt.date(2025, 5, 1)),  # moved
    ])  # fmt: skip
    async with pool.acquire() as conn:
        await project(conn, events[:-1], events[-1:], rules=BY_DISTRICT)
        rows = {
            r["unit_code"]: (r["peer_group"], r["peer_average"], r["standing"])
            for r in await conn.fetch("SELECT unit_code, peer_group, peer_average, standing FROM unit_progress")
        }
    assert rows["hoa-bac"] == ("district/huyen-a", D("0.1"), "at_or_above")  # alone now, not (900 + 100) / 2000
    assert rows["hoa-vang"] == ("district/huyen-b", D("0.6"), "at_or_above")  # (900 + 300) / 2000
    assert rows["hoa-son"] == ("district/huyen-b", D("0.6"), "below")


async def test_a_commune_merged_into_another_district_leaves_its_old_peer_group(pool: asyncpg.Pool) -> None:
    """Xã Hòa Phú (district A) is merged into Xã Hòa Khương (district B) from 1 July, the merger recorded
    after their reports: from that date Hòa Phú no longer counts among district A's communes."""

    events = recorded([
        district("huyen-a"), district("huyen-b"),
        commune("hoa-phu", "Hòa Phú", "huyen-a"), commune("hoa-lien", "Hòa Liên", "huyen-a"),
        commune("hoa-khuong", "Hòa Khương", "huyen-b"), plan("hoa-phu"), plan("hoa-lien"), plan("hoa-khuong"),
        report("hoa-phu", 6, 900), report("hoa-lien", 6, 100), report("hoa-lien", 8, 200),
        UnitsMerged(unit_code="hoa-khuong", predecessor_codes=["hoa-phu"], effective_date=dt.date(2025, 7, 1)),
    ])  # fmt: skip
    async with pool.acquire() as conn:
        await project(conn, events[:-1], events[-1:], rules=BY_DISTRICT)
        august = await conn.fetchrow(
            "SELECT average AS peer_average, standing FROM unit_standing_history"
            " WHERE unit_code = 'hoa-lien' AND as_of = '2025-08-28'"
        )
    assert (august["peer_average"], august["standing"]) == (D("0.2"), "at_or_above")  # alone: not (900+200)/2000


async def test_the_progress_message_the_projector_sends_is_the_one_the_alerts_service_parses(
    pool: asyncpg.Pool,
) -> None:
    """One contract (shared/contracts.py): the projector's announcement, as bytes on the topic, parses back
    into the same message the alerts service subscribes with."""
    async with pool.acquire() as conn:
        (change,) = await project(conn, recorded([plan("hue"), report("hue", 5, 300)]))
    sent = change.model_dump_json().encode()  # what the projector's producer sends
    assert ProgressChanged.model_validate_json(sent) == change
    assert json.loads(sent) == {"unit_code": "hue", "indicator": "public_investment_disbursement", "plan_year": 2025,
                                "as_of": "2025-05-28", "status": change.status, "version": change.version}  # fmt: skip
