"""The `make run` path on the bundled sample data, checked against numbers computed here, independently,
from the raw CSV files."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import itertools
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from pathlib import Path

import openpyxl
import pytest
from rich.console import Console

from pim.demo.run import run_demo
from services.alerts import AlertsService, create_alerts_app
from services.projector.reporting_on_time import reporting
from services.projector.standings import GroupStandings, UnitStanding, standings
from shared.auth import create_token
from shared.display import percent
from shared.settings import Settings
from tests.e2e.conftest import Demo
from tests.integration.receivers import serving

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

TOLERANCE = Fraction(5, 100)
DISBURSEMENT = "public_investment_disbursement"
DISBURSEMENT_CURVE = [
    (dt.date(2024, 12, 31), Fraction(0)),
    (dt.date(2025, 6, 30), Fraction(40, 100)),
    (dt.date(2025, 9, 30), Fraction(60, 100)),
    (dt.date(2026, 1, 31), Fraction(95, 100)),
]


def rows(name: str) -> list[dict[str, str]]:
    with (resources.files("pim.demo") / "sample" / name).open(encoding="utf-8") as source:
        return list(csv.DictReader(source))


NATIONAL_MEMBERS = {u["unit_code"] for u in rows("units.csv") if u["level"] in ("province", "central")}


def pace(indicator: str, day: dt.date) -> Fraction:
    if indicator == "budget_revenue":
        return Fraction(day.timetuple().tm_yday, 365)
    for (d0, s0), (d1, s1) in itertools.pairwise(DISBURSEMENT_CURVE):
        if day <= d1:
            return s0 + (s1 - s0) * Fraction((day - d0).days, (d1 - d0).days)
    raise AssertionError("sample data ends before the disbursement window closes")


def head_on(unit: str, day: dt.date) -> str | None:
    for tenure in rows("tenures.csv"):
        if tenure["unit_code"] != unit or tenure["role"] not in ("head", "acting_head"):
            continue
        start = dt.date.fromisoformat(tenure["start_date"])
        end = dt.date.fromisoformat(tenure["end_date"]) if tenure["end_date"] else dt.date.max
        if start <= day <= end:
            return tenure["leader_name"]
    return None


def home_plans(plan_year: str) -> dict[tuple[str, str], Fraction]:
    """Each unit's plan as its home group ranks it: the Prime Minister's where a province has both (the
    national group's basis), the province's for its departments, districts and communes (their only one)."""
    plans: dict[tuple[str, str], Fraction] = {}
    for t in rows("targets.csv"):
        key = (t["unit_code"], t["indicator"])
        if t["plan_year"] == plan_year and (t["assigned_by"] == "prime_minister" or key not in plans):
            plans[key] = Fraction(t["amount"])
    return plans


def expected_flags() -> set[tuple[str, str, str, str | None]]:
    """The 2025 below-pace alerts (2024 has closed: its findings are year-end ones)."""
    targets = home_plans("2025")
    latest: dict[tuple[str, str, str, str], Fraction] = {}
    for figure in rows("figures.csv"):  # file order is submission order: a later row supersedes
        if figure["plan_year"] != "2025":
            continue
        key = (figure["unit_code"], figure["indicator"], figure["category"], figure["as_of"])
        latest[key] = Fraction(figure["amount"])
    flags = set()
    for unit, indicator in targets:
        dates = [k[3] for k in latest if k[:2] == (unit, indicator)]
        if not dates:
            continue  # never reported (the silent agency): its months are missing reports, not a pace
        as_of = max(dates)
        actual = sum(v for k, v in latest.items() if k[:2] == (unit, indicator) and k[3] == as_of)
        rate = actual / targets[unit, indicator]
        expected = pace(indicator, dt.date.fromisoformat(as_of))
        if rate < expected / 2:
            severity = "critical"
        elif rate < expected - TOLERANCE:
            severity = "warning"
        else:
            continue
        flags.add((unit, indicator, severity, head_on(unit, dt.date.fromisoformat(as_of))))
    return flags


async def test_demo_flags_exactly_the_units_below_pace_and_names_their_heads(demo: Demo) -> None:
    expected = expected_flags()
    async with demo.pool.acquire() as conn:
        flagged = {
            (r["unit_code"], r["indicator"], r["severity"], r["responsible_leader_name"])
            for r in await conn.fetch(  # open, or concluded by its committee in the sample's review story
                "SELECT * FROM alerts WHERE (status = 'open' OR conclusion_outcome IS NOT NULL) AND rule = 'below_pace'"
            )
        }
        progress_count = await conn.fetchval("SELECT count(*) FROM unit_progress")
    assert flagged == expected
    reported = {(f["unit_code"], f["indicator"], f["plan_year"]) for f in rows("figures.csv")}
    planned = {(t["unit_code"], t["indicator"], t["plan_year"]) for t in rows("targets.csv")}
    handed = {(h["receiver_code"], h["indicator"], h["plan_year"]) for h in rows("dissolutions.csv")}
    assert progress_count == len(reported) == len(planned | handed) - 1  # all but the silent agency's plan
    decisions = {(m["unit_code"], m["decision_number"]) for m in rows("milestones.csv")}  # one event each
    dissolved = {d["unit_code"] for d in rows("dissolutions.csv")}  # one event each
    assert demo.result.events == sum(
        len(rows(f)) for f in ("units.csv", "tenures.csv", "targets.csv", "adjustments.csv", "figures.csv", "votes.csv")
    ) + sum(1 for t in rows("tenures.csv") if t["end_date"]) + len(decisions) + len(dissolved)

    # The stories the sample was built to tell come out as they should.
    assert (
        "lam-dong",
        "public_investment_disbursement",
        "warning",
        "Đặng Văn Mai",
    ) in flagged  # new head since June
    assert ("ca-mau", "public_investment_disbursement", "warning", None) in flagged  # vacant post
    printed = demo.printed
    assert "Tỉnh Lâm Đồng" in printed and "Đặng Văn Mai" in printed and "vacant" in printed


async def test_running_the_demo_again_on_the_same_database_stores_nothing_new(demo: Demo) -> None:
    """Second run on the same infrastructure: idempotency keys make the re-sent sample a no-op."""
    async with demo.pool.acquire() as conn:
        before = await conn.fetchval("SELECT count(*) FROM events WHERE channel = 'http'")
    second = await run_demo(demo.settings, Console(record=True))
    async with demo.pool.acquire() as conn:
        after = await conn.fetchval("SELECT count(*) FROM events WHERE channel = 'http'")
    assert second.events == demo.result.events and after == before


async def test_peer_standing_matches_the_weighted_national_average(demo: Demo) -> None:
    """The Ministry of Finance's national lists on 31 October 2025, recomputed here from the raw sample
    numbers: every central agency and province with a plan, the silent agency with 0, Quảng Ngãi (capital
    supplemented on 20 October) not assessed; rank by the exact rate."""
    targets = {unit: plan for (unit, indicator), plan in home_plans("2025").items() if indicator == DISBURSEMENT}
    targets = {unit: plan for unit, plan in targets.items() if unit in NATIONAL_MEMBERS}
    late = {a["unit_code"] for a in rows("adjustments.csv") if a["decision_date"] <= "2025-10-31"}
    latest: dict[tuple[str, str], Fraction] = {}
    for figure in rows("figures.csv"):
        if figure["indicator"] == DISBURSEMENT and figure["as_of"] == "2025-10-31":
            latest[figure["unit_code"], figure["category"]] = Fraction(figure["amount"])
    assessed = {unit: sum((v for (u, _), v in latest.items() if u == unit), Fraction(0)) for unit in targets}
    assessed = {unit: actual for unit, actual in assessed.items() if unit not in late}
    average = Fraction(sum(assessed.values())) / sum(targets[u] for u in assessed)
    rate = {unit: assessed[unit] / targets[unit] for unit in assessed}
    expected = {unit: "at_or_above" if rate[unit] >= average else "below" for unit in assessed}
    expected |= dict.fromkeys(late, "not_assessed")
    async with demo.pool.acquire() as conn:
        stored = await conn.fetch(
            "SELECT unit_code, standing, average, rank, reported FROM assessment_standings"
            " WHERE group_id = 'national' AND indicator = $1 AND plan_year = 2025 AND as_of = '2025-10-31'",
            DISBURSEMENT,
        )
    assert {r["unit_code"]: r["standing"] for r in stored} == expected
    assert len(stored) == 34 + 12 and [r["unit_code"] for r in stored if not r["reported"]] == ["uy-ban-dan-toc"]
    # one average for every unit: the exact quotient, as PostgreSQL keeps it (20 significant digits)
    assert {round(r["average"], 15) for r in stored} == {round(Decimal(average.numerator) / average.denominator, 15)}
    assert {r["unit_code"]: r["rank"] for r in stored if r["rank"] is not None} == {
        unit: 1 + sum(1 for other in rate.values() if other > rate[unit]) for unit in rate
    }
    # Khánh Hòa's own milestones (decided 20 September) set its expected pace on 31 October, and its row says so;
    # its August row, before the decision, stays on the curve.
    async with demo.pool.acquire() as conn:
        own = {
            str(r["as_of"]): (r["expected_pace"], r["pace_decision"])
            for r in await conn.fetch(
                "SELECT as_of, expected_pace, pace_decision FROM unit_progress_history WHERE unit_code = 'khanh-hoa'"
                " AND indicator = $1 AND plan_year = 2025 AND category = '' AND as_of IN ('2025-08-31', '2025-10-31')",
                DISBURSEMENT,
            )
        }
    curve = pace(DISBURSEMENT, dt.date(2025, 8, 31))
    assert own["2025-08-31"][1] is None and abs(Fraction(own["2025-08-31"][0]) - curve) < Fraction(1, 10**6)
    assert own["2025-10-31"] == (Decimal("0.75"), "2345/QĐ-UBND")
    # Hải Phòng's plan was cut by a decision of 15 December: the lists of 31 October (above) stand on the plan
    # assigned then, and 15 December is a date of the lists of its own, on the cut plan.
    (cut,) = [Fraction(a["amount"]) for a in rows("adjustments.csv") if a["decision_date"] == "2025-12-15"]
    async with demo.pool.acquire() as conn:
        plans = {
            str(r["as_of"]): r["plan"]
            for r in await conn.fetch(
                "SELECT as_of, plan FROM assessment_standings WHERE group_id = 'national' AND unit_code = 'hai-phong'"
                " AND indicator = $1 AND plan_year = 2025 AND as_of IN ('2025-10-31', '2025-12-15')",
                DISBURSEMENT,
            )
        }
    assert plans == {"2025-10-31": targets["hai-phong"], "2025-12-15": cut}


async def test_the_district_abolished_on_1_july_hands_its_capital_on_and_nothing_vanishes(demo: Demo) -> None:
    """Ninh Bình's Huyện Gia Viễn reports until June and is abolished on 1 July, its plan and year to date
    handed to the provincial project board and two communes that exist from that day. The province's list of
    30 June holds the district and not the communes; that of 1 July the communes and not the district, with
    the same total year to date; the province is ranked nationally on the Prime Minister's plan while its own
    units are held to the province's plans."""
    handovers = rows("dissolutions.csv")
    group = "province/ninh-binh"
    async with demo.pool.acquire() as conn:
        (june,) = await standings(conn, dt.date(2025, 6, 30), DISBURSEMENT, 2025, group)
        (july,) = await standings(conn, dt.date(2025, 7, 1), DISBURSEMENT, 2025, group)
        (national,) = await standings(conn, dt.date(2025, 10, 31), DISBURSEMENT, 2025, "national")

    def members(g: GroupStandings) -> dict[str, UnitStanding]:
        return {u.unit_code: u for lst in g.lists for u in (*lst.at_or_above, *lst.below)}

    assert set(members(june)) == {"huyen-gia-vien", "ban-qlda-ninh-binh"}
    assert set(members(july)) == {"ban-qlda-ninh-binh", "xa-gia-vien", "xa-gia-hung"}
    assert july.as_of == dt.date(2025, 7, 1) and july.total_actual == june.total_actual  # nothing vanished
    assert july.total_basis == june.total_basis  # the district's plan went with its capital
    for handover in handovers:
        if handover["receiver_code"].startswith("xa-"):
            commune = members(july)[handover["receiver_code"]]
            assert (commune.plan, commune.actual) == (Decimal(handover["plan"]), Decimal(handover["year_to_date"]))
    assert june.plan_assigned_by == "province"
    ninh_binh = members(national)["ninh-binh"]
    prime_minister = home_plans("2025")["ninh-binh", DISBURSEMENT]
    assert (ninh_binh.plan, ninh_binh.plan_assigned_by) == (prime_minister, "prime_minister")
    own = [t for t in rows("targets.csv") if t["unit_code"] == "ninh-binh" and t["assigned_by"] == "province"]
    assert own and Fraction(own[0]["amount"]) > prime_minister  # its own plan, with local capital, is larger


async def test_a_change_of_head_splits_the_year_and_the_gap(demo: Demo) -> None:
    """Lâm Đồng changed head on 1 June: each answers for the gap that arose in their own months."""
    target = next(
        Fraction(t["amount"])
        for t in rows("targets.csv")
        if (t["unit_code"], t["indicator"], t["plan_year"]) == ("lam-dong", DISBURSEMENT, "2025")
    )

    def gap(as_of: str) -> Fraction:
        amounts: dict[str, Fraction] = {}
        for figure in rows("figures.csv"):
            if (figure["unit_code"], figure["indicator"], figure["as_of"]) == ("lam-dong", DISBURSEMENT, as_of):
                amounts[figure["category"]] = Fraction(figure["amount"])
        return pace(DISBURSEMENT, dt.date.fromisoformat(as_of)) - sum(amounts.values()) / target

    async with demo.pool.acquire() as conn:
        stints = await conn.fetch(
            "SELECT * FROM leader_accountability WHERE unit_code = 'lam-dong' AND indicator = $1"
            " AND answerable_as = 'head' AND plan_year = 2025 ORDER BY stint_start",
            DISBURSEMENT,
        )
    first, second = stints
    assert (first["leader_name"], first["stint_end"]) == ("Nguyễn Ngọc Tú", dt.date(2025, 5, 31))
    assert (second["leader_name"], second["stint_start"]) == ("Đặng Văn Mai", dt.date(2025, 6, 1))
    assert first["gap_at_start"] == 0
    for stored, exact in ((first["gap_at_end"], gap("2025-05-31")), (second["gap_at_start"], gap("2025-05-31")),
                          (second["gap_at_end"], gap("2025-10-31"))):  # fmt: skip
        assert abs(Fraction(stored) - exact) < Fraction(1, 10**5)
    assert first["gap_arisen"] + second["gap_arisen"] == second["gap_at_end"]


async def test_the_alert_stories_of_the_sample_come_out(demo: Demo) -> None:
    """Each story the sample was built to tell raises its alert, and names who answers for it."""
    async with demo.pool.acquire() as conn:
        found = {
            (r["unit_code"], r["rule"], r["period"]): r
            for r in await conn.fetch("SELECT * FROM alerts WHERE status = 'open'")
        }
    missing = found[("son-la", "missing_report", "2025-09")]
    assert missing["indicator"] == DISBURSEMENT and missing["evidence"]["deadline"] == "2025-10-05"
    late = found[("dien-bien", "missing_report", "2025-08")]
    assert late["evidence"]["arrived"] == "2025-09-15" and late["evidence"]["days_late"] == "10"
    silent = sorted(key[2] for key in found if key[:2] == ("uy-ban-dan-toc", "missing_report"))
    assert silent[:2] == ["2025-01", "2025-02"] and silent[-1] == "2025-10"  # it never reported
    others = ("son-la", "dien-bien", "uy-ban-dan-toc")
    assert not [key for key in found if key[1] == "missing_report" and key[0] not in others]

    review = next(r for k, r in found.items() if k[:2] == ("gia-lai", "confidence_vote"))
    dismissal = next(r for k, r in found.items() if k[:2] == ("tuyen-quang", "confidence_vote"))
    assert (review["severity"], review["evidence"]["band"]) == ("warning", "review")
    assert (dismissal["severity"], dismissal["evidence"]["band"]) == ("critical", "dismissal")
    assert not any(k[:2] == ("ha-noi", "confidence_vote") for k in found)

    back_loaded = {k[0] for k in found if k[1] == "back_loading"}
    assert back_loaded == {"ha-tinh", "cao-bang", "quang-tri"}

    # 2024 has closed: its in-year alerts are gone, its year-end findings are there.
    assert not [k for k, r in found.items() if r["plan_year"] == 2024 and k[1] in ("below_pace", "early_warning")]
    shortfalls = {k[0] for k, r in found.items() if k[1] == "year_end_shortfall"}
    assert shortfalls == set(expected_2024_shortfalls())

    # Behind on three or more reports in a row: escalated one level up.
    escalated = [r for k, r in found.items() if k[1] == "below_pace" and r["escalated_to"] is not None]
    assert escalated and all(r["escalated_to"] == "Lãnh đạo Ủy ban Kiểm tra Trung ương" for r in escalated)


async def test_the_review_loop_of_the_sample_comes_out(demo: Demo) -> None:
    """Lâm Đồng's head explained and promised 70 % by 31 October; the October report (60,3 %) broke the
    promise, which raised its own alert naming him; the committee concluded with criticism. Điện Biên's head
    never answered: the alert climbed a level the day after the due date."""
    async with demo.pool.acquire() as conn:
        concluded = await conn.fetchrow(
            "SELECT a.*, r.explained_by, r.causes FROM alerts a JOIN alert_reviews r USING (fingerprint)"
            " WHERE a.unit_code = 'lam-dong' AND a.rule = 'below_pace' AND a.plan_year = 2025"
        )
        promise = await conn.fetchrow("SELECT * FROM alert_commitments WHERE unit_code = 'lam-dong'")
        missed = await conn.fetchrow("SELECT * FROM alerts WHERE rule = 'commitment_missed' AND status = 'open'")
        climbed = await conn.fetchrow(
            "SELECT payload FROM events WHERE event_type = 'AlertEscalated' AND payload->>'deadline' = 'explanation'"
        )
    assert (concluded["conclusion_outcome"], concluded["status"]) == ("criticism", "resolved")
    assert concluded["explained_by"].startswith("Đặng Văn Mai") and concluded["causes"] == [
        "site_clearance",
        "late_allocation",
    ]
    assert (promise["outcome"], str(promise["figures_as_of"])) == ("missed", "2025-10-31")
    assert (missed["unit_code"], missed["responsible_leader_name"]) == ("lam-dong", "Đặng Văn Mai")
    assert climbed is not None and climbed["payload"]["unit_code"] == "dien-bien"
    assert climbed["payload"]["deadline_due"] == "2025-10-27"
    assert "review: Điện Biên: explanation asked on 20/10, due 27/10, never given" in demo.printed


def expected_2024_shortfalls() -> set[str]:
    """Units under 95 % of a 2024 target on their last report of the window, from the raw CSV."""
    targets = {
        (t["unit_code"], t["indicator"]): Fraction(t["amount"]) for t in rows("targets.csv") if t["plan_year"] == "2024"
    }
    last: dict[tuple[str, str], tuple[str, dict[str, Fraction]]] = {}
    for figure in rows("figures.csv"):
        if figure["plan_year"] != "2024":
            continue
        key = (figure["unit_code"], figure["indicator"])
        as_of, amounts = last.get(key, ("", {}))
        if figure["as_of"] > as_of:
            as_of, amounts = figure["as_of"], {}
        amounts[figure["category"]] = Fraction(figure["amount"])
        last[key] = (as_of, amounts)
    return {
        unit
        for (unit, indicator), (_, amounts) in last.items()
        if sum(amounts.values()) / targets[unit, indicator] < Fraction(95, 100)
    }


def pim_cli(settings: Settings, *args: str, **more: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DATABASE_URL": str(settings.database_url), "COLUMNS": "200"} | more
    if "PIM_TOKEN" not in more:
        env.pop("PIM_TOKEN", None)
    pim = str(Path(sys.executable).with_name("pim"))
    return subprocess.run([pim, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


async def test_a_committee_works_its_alerts_from_the_command_line(demo: Demo, tmp_path: Path) -> None:
    async with demo.pool.acquire() as conn:
        token = await create_token(conn, "UBKT phụ trách Gia Lai", "committee", ["gia-lai"])
        outside = await conn.fetchval("SELECT fingerprint FROM alerts WHERE unit_code = 'ha-noi' LIMIT 1")
    service = AlertsService.from_settings(demo.settings, demo.pool)
    async with serving(create_alerts_app(demo.pool, service)) as url:  # the committee's commands are its clients
        api = {"PIM_ALERTS_API_URL": url}
        listed = await asyncio.to_thread(pim_cli, demo.settings, "alerts", "list", "--json", "--token", token, **api)
        assert listed.returncode == 0, listed.stderr
        alerts = [json.loads(line) for line in listed.stdout.splitlines()]
        assert alerts and {a["unit_code"] for a in alerts} == {"gia-lai"}
        vote = next(a for a in alerts if a["rule"] == "confidence_vote")
        assert vote["responsible_leader_name"] == "Hồ Quốc Tâm"

        acked = await asyncio.to_thread(
            pim_cli, demo.settings, "alerts", "ack", vote["fingerprint"], "--note", "Đã lập đoàn kiểm tra",
            "--token", token, **api,
        )  # fmt: skip
        assert acked.returncode == 0, acked.stdout + acked.stderr
        async with demo.pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM alerts WHERE fingerprint = $1", vote["fingerprint"])
            event = await conn.fetchval("SELECT payload FROM events WHERE event_type = 'AlertAcknowledged'")
        assert (row["acknowledged_by"], row["acknowledged_note"]) == ("UBKT phụ trách Gia Lai", "Đã lập đoàn kiểm tra")
        assert event["by"] == "UBKT phụ trách Gia Lai"

        refused = await asyncio.to_thread(pim_cli, demo.settings, "alerts", "ack", outside, "--token", token, **api)
        assert refused.returncode != 0 and "jurisdiction" in refused.stdout + refused.stderr

    config_file = tmp_path / "alertmanager.yml"
    written = await asyncio.to_thread(
        pim_cli, demo.settings, "alerts", "alertmanager-config", "--webhook-url", "http://inbox.invalid/pim",
        "--output", str(config_file),
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    assert 'committee="Ủy ban Kiểm tra Trung ương"' in config_file.read_text(encoding="utf-8")
    amtool = shutil.which("amtool")
    assert amtool is not None, "make test installs prometheus-alertmanager (amtool)"
    check = [amtool, "check-config", str(config_file)]
    checked = await asyncio.to_thread(subprocess.run, check, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_below_average_alerts_are_exactly_the_final_below_average_lists(demo: Demo) -> None:
    """Peers report after a unit does: its standing moves with no fact of its own, and its alert must follow."""
    async with demo.pool.acquire() as conn:
        below = {
            (r["unit_code"], r["indicator"])
            for r in await conn.fetch("SELECT * FROM unit_progress WHERE plan_year = 2025 AND standing = 'below'")
        }
        flagged = {
            (r["unit_code"], r["indicator"])
            for r in await conn.fetch(
                "SELECT * FROM alerts WHERE rule = 'below_peer_average' AND plan_year = 2025 AND status = 'open'"
            )
        }
    assert below and flagged == below


async def test_pim_reporting_prints_the_projectors_record_of_reports_on_time(demo: Demo) -> None:
    async with demo.pool.acquire() as conn:
        (record,) = await reporting(conn, dt.date(2025, 10, 31), DISBURSEMENT, 2025, "national")
    printed = await asyncio.to_thread(
        pim_cli, demo.settings, "reporting", "--as-of", "2025-10-31", "--group", "national"
    )
    assert printed.returncode == 0, printed.stderr
    text = " ".join(printed.stdout.split())
    assert f"báo cáo đúng hạn / reports on time {percent(record.rate)} ({record.on_time}/{record.expected})" in text
    assert record.expected > record.on_time  # the sample has late and missing months: Điện Biên's, Sơn La's


async def test_pim_standings_prints_and_exports_the_projectors_lists(demo: Demo, tmp_path: Path) -> None:
    """The Ministry-style lists as a table, CSV and XLSX, each holding the projector's numbers exactly."""
    async with demo.pool.acquire() as conn:
        (national,) = await standings(conn, dt.date(2025, 10, 31), DISBURSEMENT, 2025, "national")
    owner = {u.unit_code: u for lst in national.lists for u in (*lst.at_or_above, *lst.below)}
    owner |= {u.unit_code: u for u in national.not_assessed}
    printed = await asyncio.to_thread(
        pim_cli, demo.settings, "standings", "--as-of", "2025-11-10", "--group", "national"
    )
    assert printed.returncode == 0, printed.stderr
    assert (
        "31/10/2025" in printed.stdout and "Bộ, cơ quan trung ương / Ministries and central agencies" in printed.stdout
    )
    assert f"bình quân / average {percent(national.average)}" in printed.stdout
    assert "chưa báo cáo" in printed.stdout and "bổ sung vốn sau 30/9" in printed.stdout

    exported = await asyncio.to_thread(
        pim_cli, demo.settings, "standings", "--as-of", "2025-10-31", "--group", "national", "--format", "csv"
    )
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(exported.stdout.splitlines()))
    assert len(rows) == len(owner) == 46
    for row in rows:
        unit = owner[row["Mã đơn vị / Unit code"]]
        assert Decimal(row["Lũy kế (đồng) / Year to date (VND)"]) == unit.actual  # exact, in đồng
        assert row["Hạng / Rank"] == ("" if unit.rank is None else str(unit.rank))

    book_path = tmp_path / "bxh.xlsx"
    saved = await asyncio.to_thread(pim_cli, demo.settings, "standings", "--as-of", "2025-10-31", "--format", "xlsx",
                                    "--out", str(book_path))  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    sheet = openpyxl.load_workbook(book_path).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    national_rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in sheet.iter_rows(min_row=2)
                     if r[0].value == national.name]  # fmt: skip
    assert {r["Mã đơn vị / Unit code"]: Decimal(r["Kế hoạch (đồng) / Plan (VND)"]) for r in national_rows} == {
        code: unit.basis if unit.basis is not None else unit.plan for code, unit in owner.items()
    }


def test_the_demo_logs_no_error_from_start_to_stop(demo: Demo) -> None:
    """Errors in the log are for an operator to act on: a demo that went well logs none (a consumer group joined
    only to read end offsets made aiokafka log an AssertionError traceback at start and at stop)."""
    assert demo.errors == []
