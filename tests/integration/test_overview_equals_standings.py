"""The Overview dashboard's numbers equal the projector's standings on generated data with a merger, a
silent unit, a late supplement and central agencies (the sample's case is in tests/e2e/test_dashboards.py):
its SQL, with Grafana's variables filled in, runs as the read-only role and reads what `standings` reads."""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from pim.grafana.panel_sql import expand
from services.projector.progress_rules import ProgressRules
from services.projector.reporting_on_time import reporting
from services.projector.standings import standings
from shared.events import DisbursementReported, TargetAdjusted, TargetSet, UnitRegistered, UnitsMerged
from tests.integration.projector_helpers import apply_events
from tests.integration.test_projection_order import recorded

pytestmark = pytest.mark.postgres
OVERVIEW = Path(__file__).parents[2] / "infra" / "grafana" / "dashboards" / "pim-overview.json"
DISB = "public_investment_disbursement"


def generated(seed: int) -> list[Any]:
    rng = random.Random(seed)
    events: list[Any] = []
    provinces = [f"tinh-{n}" for n in range(8)]
    agencies = [f"bo-{n}" for n in range(4)]
    for code in provinces + agencies:
        level = "province" if code.startswith("tinh") else "central"
        events.append(UnitRegistered(unit_code=code, name=f"Đơn vị {code}", level=level, committee="UBKT"))
        events.append(TargetSet(unit_code=code, indicator=DISB, plan_year=2025,
                                amount=Decimal(rng.randrange(1_000, 50_000) * 10**9)))  # fmt: skip
    for month in range(1, 11):
        day = dt.date(2025, month + 1, 1) - dt.timedelta(days=1)
        for code in provinces[1:] + agencies[1:]:  # tinh-0 and bo-0 never report
            if code == "tinh-2" and month >= 7:
                continue  # merged into tinh-1 on 1 July
            amount = Decimal(rng.randrange(100, 4_000) * 10**9 * month)
            events.append(DisbursementReported(unit_code=code, plan_year=2025, category="central_budget",
                                               as_of=day, amount=amount))  # fmt: skip
    events.append(UnitsMerged(unit_code="tinh-1", predecessor_codes=["tinh-2"], effective_date=dt.date(2025, 7, 1)))
    late = TargetAdjusted(unit_code="tinh-3", indicator=DISB, plan_year=2025,
                          amount=Decimal(60_000 * 10**9), late_supplement=Decimal(10_000 * 10**9),
                          decision_date=dt.date(2025, 10, 10))  # fmt: skip
    events.append(late)
    return events


@pytest.mark.parametrize("as_of", ["2025-06-30", "2025-10-31"])
async def test_every_overview_number_is_the_projectors(pool: asyncpg.Pool, as_of: str) -> None:
    day = dt.date.fromisoformat(as_of)
    async with pool.acquire() as conn:
        async with conn.transaction():
            await apply_events(conn, recorded(generated(7)), ProgressRules())
        (owner,) = await standings(conn, day, DISB, 2025, "national")
        (sent,) = await reporting(conn, day, DISB, 2025, "national")
        panels = {p["title"].split(" / ")[0].split(",")[0]: p["targets"][0]["rawSql"]
                  for p in json.loads(OVERVIEW.read_text(encoding="utf-8"))["panels"]}  # fmt: skip
        variables = {"plan_year": "2025", "indicator": DISB, "group": "national", "as_of": as_of}
        async with conn.transaction():
            await conn.execute("SET LOCAL ROLE pim_reader")
            shown = {title: await conn.fetch(expand(sql, variables)) for title, sql in panels.items()}
    units = {u.name: u for lst in owner.lists for u in (*lst.at_or_above, *lst.below)}
    units |= {u.name: u for u in owner.not_assessed}
    (average,) = shown["Bình quân của nhóm"]
    assert owner.average is not None and average[0] == round(owner.average * 100, 2)
    (counts,) = shown["Số đơn vị"]
    assert tuple(counts)[:3] == (owner.assessed, owner.no_report, len(owner.not_assessed))
    progress = shown["Tiến độ theo đơn vị"]
    assert sorted(r["Đơn vị / Unit"] for r in progress) == sorted(units)
    for row in progress:
        unit = units[row["Đơn vị / Unit"]]
        assert (row["Hạng / Rank"], row["So với bình quân / Standing"]) == (unit.rank, unit.standing)
        assert row["Tỷ lệ % / Rate %"] == (None if unit.rate is None else round(unit.rate * 100, 2))
    lists = shown["Trên"]
    assert sorted((r["Đơn vị / Unit"], r["Hạng / Rank"]) for r in lists) == sorted(
        (u.name, u.list_rank) for u in units.values()
    )
    on_time = shown["Báo cáo đúng hạn đến $as_of"]
    assert [
        (r["Đơn vị / Unit"], r["Hạng / Rank"], r["Kỳ đến hạn / Due"], r["Đúng hạn / On time"]) for r in on_time
    ] == [(u.name, u.rank, u.expected, u.on_time) for u in sent.units]
    assert on_time[0]["Của nhóm % / Group's %"] == round(sent.rate * 100, 2)
    # the cases the data was made for
    assert "Đơn vị tinh-2" not in units if day >= dt.date(2025, 7, 1) else "Đơn vị tinh-2" in units
    assert not units["Đơn vị tinh-0"].reported and units["Đơn vị tinh-0"].standing == "below"
    late = units["Đơn vị tinh-3"].not_assessed_reason
    assert late == ("late_supplement" if day >= dt.date(2025, 10, 10) else None)
