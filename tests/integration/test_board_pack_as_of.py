"""A board pack as of a date shows nothing after that date: made after November's report, the pack as of
10 November gives each unit one rate — October's — in its lists, its chart, its heads' stints and its
alerts, and no figure, alert step or plan decision dated later."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import asyncpg
import pytest

from services.projector.board_pack.make import board_pack_html
from services.projector.progress_rules import ProgressRules
from shared.display import percent
from shared.event_store import EventStore, Submitter, recorded_event
from shared.events import (
    AlertRaised,
    AlertRefreshed,
    DisbursementReported,
    DomainEvent,
    Indicator,
    LeaderAppointed,
    LeaderLeft,
    Role,
    TargetAdjusted,
    TargetSet,
    UnitRegistered,
)
from tests.integration.projector_helpers import apply_events

pytestmark = pytest.mark.postgres
D = Decimal
RULES = ProgressRules()
DISB = Indicator.DISBURSEMENT
OCT_31, NOV_10, NOV_30 = dt.date(2025, 10, 31), dt.date(2025, 11, 10), dt.date(2025, 11, 30)


def report(code: str, amount: int, on: dt.date) -> DisbursementReported:
    return DisbursementReported(unit_code=code, plan_year=2025, category="central_budget", as_of=on, amount=D(amount))


def plan(code: str, amount: int, number: str, decided: dt.date, by: str = "prime_minister") -> TargetSet:
    return TargetSet(unit_code=code, indicator=DISB, plan_year=2025, amount=D(amount), assigned_by=by,
                     decision_number=number, decision_date=decided)  # fmt: skip


def head(tenure: str, leader: str, name: str, start: dt.date) -> LeaderAppointed:
    return LeaderAppointed(tenure_id=tenure, unit_code="lam-dong", leader_id=leader, leader_name=name,
                           role=Role.HEAD, start_date=start)  # fmt: skip


def alert(code: str, on: dt.date, summary: str, refreshed: bool = False) -> DomainEvent:
    common = {"fingerprint": f"{code}/{DISB.value}/behind_pace/2025", "unit_code": code, "as_of": on,
              "summary": summary, "responsible_leader_id": "L2", "responsible_leader_name": "Trần Thị Bình",
              "evidence": {}}  # fmt: skip
    if refreshed:
        return AlertRefreshed(severity="critical", previous_severity="warning", **common)
    return AlertRaised(indicator=DISB, plan_year=2025, rule="behind_pace", severity="warning",
                       committee="Ủy ban Kiểm tra Tỉnh ủy", **common)  # fmt: skip


def history() -> list[DomainEvent]:
    """Lâm Đồng far behind in October, caught up by 30 November (and a plan of its province's own beside the
    Prime Minister's); a new head from 1 June; an alert raised on
    October's figures and refreshed on November's; Huế's alert raised on November's; a plan revised in
    November after the pack's date."""
    return [
        UnitRegistered(unit_code="lam-dong", name="Tỉnh Lâm Đồng", level="province", committee="UBKT"),
        UnitRegistered(unit_code="hue", name="Thành phố Huế", level="province", committee="UBKT"),
        plan("lam-dong", 1000, "1500/QĐ-TTg", dt.date(2024, 12, 10)),
        plan("hue", 1000, "1500/QĐ-TTg", dt.date(2024, 12, 10)),
        plan("lam-dong", 1500, "9999/QĐ-UBND", dt.date(2024, 12, 20), by="province"),
        head("t1", "L1", "Nguyễn Văn Ánh", dt.date(2021, 1, 1)),
        LeaderLeft(tenure_id="t1", unit_code="lam-dong", end_date=dt.date(2025, 5, 31)),
        head("t2", "L2", "Trần Thị Bình", dt.date(2025, 6, 1)),
        report("lam-dong", 300, OCT_31),
        report("hue", 600, OCT_31),
        alert("lam-dong", OCT_31, "Tháng 10 chậm tiến độ"),
        report("lam-dong", 700, NOV_30),
        report("hue", 800, NOV_30),
        alert("lam-dong", NOV_30, "Tháng 11 vẫn chậm", refreshed=True),
        alert("hue", NOV_30, "Huế tháng 11"),
        TargetAdjusted(
            unit_code="lam-dong",
            indicator=DISB,
            plan_year=2025,
            amount=D(1200),
            decision_number="2222/QĐ-TTg",
            decision_date=dt.date(2025, 11, 20),
        ),
    ]


async def test_the_pack_as_of_a_date_shows_each_unit_as_it_stood_that_day(pool: asyncpg.Pool) -> None:
    await EventStore(pool).append(history(), Submitter("test", "test"))  # the pack cites their envelopes
    async with pool.acquire() as conn:
        stored = [recorded_event(r) for r in await conn.fetch("SELECT * FROM events ORDER BY position")]
        async with conn.transaction():
            await apply_events(conn, stored, RULES)
        html = await board_pack_html(conn, NOV_10, DISB, "national", None, RULES)
        live_stints = await conn.fetch("SELECT rate_at_end FROM leader_accountability WHERE leader_id = 'L2'")
    assert html is not None
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    october = percent(D("0.3"))
    assert f"Tỷ lệ / rate {october}" in text  # the unit page
    assert f"{percent(D(0))} → {october}" in text  # the new head's stint ends at the pack's date, on October
    november = (percent(D("0.7")), percent(D("0.583333")))
    assert not any(rate in text for rate in november) and "30/11/2025" not in text and "20/11/2025" not in text
    assert "Tháng 10 chậm tiến độ" in text and "Tháng 11" not in text and "Huế tháng 11" not in text
    assert "2222/QĐ-TTg" not in text  # the revision decided after the pack's date
    # The national lists rank on the Prime Minister's plan: the province's own is no adjustment of it.
    assert "1500/QĐ-TTg" in text and "9999/QĐ-UBND" not in text
    # The live stints are left as they are: November's 700 on the plan revised to 1,200.
    assert [r["rate_at_end"] for r in live_stints] == [D("0.583333")]
