"""The Grafana dashboards, checked without a Grafana server (none can run here): the committed JSON is
what the code builds, it loads into grafana-foundation-sdk's dashboard model unchanged, and every
panel's and variable's SQL — Grafana's macros and variables expanded — runs as the read-only role
against PostgreSQL loaded with the sample, returning the columns and types the panel expects."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from pim.grafana.dashboards import DASHBOARDS, DATASOURCE_UID, dashboard_json
from services.alerts.service import AlertsService
from services.projector.progress import ProgressRules
from services.projector.time_travel import progress_as_known_on
from shared.standings import standings
from tests.e2e.conftest import Demo

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
FOLDER = Path(__file__).parents[2] / "infra" / "grafana" / "dashboards"
# One value per variable: a unit and a leader with a change of head, alerts and a vote in the sample.
VALUES = {
    "plan_year": "2025",
    "indicator": "public_investment_disbursement",
    "unit": "gia-lai",
    "leader": "L046",  # Hồ Quốc Tâm: acting head of Gia Lai, then head; a "review" vote
    "known_on": "2025-09-30",
    "committee": "Ủy ban Kiểm tra Trung ương",
    "group": "national",
    "as_of": "2025-10-31",
}
NUMERIC = (int, float, Decimal)


def committed(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FOLDER / f"pim-{name}.json").read_text(encoding="utf-8"))
    return data


def expand(sql: str) -> str:
    """Grafana's PostgreSQL macros and the dashboard's variables, as Grafana would substitute them."""
    sql = re.sub(r"\$__timeFilter\(([\w.]+)\)", r"\1 BETWEEN '2024-01-01T00:00:00Z' AND '2026-12-31T23:59:59Z'", sql)
    for name, value in VALUES.items():
        sql = sql.replace(f"${{{name}}}", value).replace(f"${name}", value)
    assert "$" not in sql, f"unexpanded macro or variable in: {sql}"
    return sql


@pytest.mark.parametrize("name", list(DASHBOARDS))
def test_committed_json_is_what_the_code_builds_and_the_sdk_model_reads_it_back(name: str) -> None:
    data = committed(name)
    assert data == dashboard_json(name), "run `pim grafana dashboards` and commit the result"
    model = Dashboard.from_json(data)
    assert json.loads(JSONEncoder(sort_keys=True).encode(model)) == data
    assert data["uid"] == f"pim-{name}" and " / " in data["title"]  # Vietnamese / English
    for panel in data["panels"]:
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24, f"{panel['title']} runs off the grid"
        assert panel["datasource"]["uid"] == DATASOURCE_UID and " / " in panel["title"]
        assert all(t["rawSql"] for t in panel["targets"])


async def run_as_reader(pool: asyncpg.Pool, sql: str) -> list[asyncpg.Record]:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL ROLE pim_reader")
        rows: list[asyncpg.Record] = await conn.fetch(expand(sql))
        return rows


async def test_every_panel_and_variable_query_returns_what_its_panel_expects(demo: Demo) -> None:
    # one committee conclusion this month, for the "resolved this month" panel
    service = AlertsService.from_settings(demo.settings, demo.pool, clock=lambda: dt.date(2025, 11, 10))
    async with demo.pool.acquire() as conn:
        key = await conn.fetchval("SELECT fingerprint FROM alerts WHERE rule = 'revenue_outturn' LIMIT 1")
    await service.resolve(key, "Ủy ban Kiểm tra Trung ương", "Đã giải trình dự toán thu")

    checked = 0
    for name in DASHBOARDS:
        data = committed(name)
        for variable in data["templating"]["list"]:
            if variable["type"] == "query":
                rows = await run_as_reader(demo.pool, variable["query"])
                assert rows, f"{name}: variable {variable['name']} offers nothing"
                values = {str(r["__value"] if "__value" in r else r[0]) for r in rows}
                assert VALUES[variable["name"]] in values, f"{name}: {variable['name']} lacks the tested value"
                checked += 1
        for panel in data["panels"]:
            for target in panel["targets"]:
                rows = await run_as_reader(demo.pool, target["rawSql"])
                where = f"{name} / {panel['title']}"
                assert rows, f"{where}: no rows"
                if panel["type"] in ("timeseries", "state-timeline"):
                    assert target["format"] == "time_series" and next(iter(rows[0].keys())) == "time"
                    assert all(isinstance(r["time"], dt.datetime) for r in rows), where
                    shown = [v for r in rows for v in list(r.values())[1:]]
                    kind = NUMERIC if panel["type"] == "timeseries" else str  # a state timeline shows names
                    assert all(isinstance(v, kind) for v in shown if v is not None), where
                    if panel["type"] == "state-timeline":  # Gia Lai's head left in March; acting, then confirmed
                        assert {"Hồ Thị Nhung", "Hồ Quốc Tâm"} <= set(shown), where
                elif panel["type"] == "stat":
                    assert len(rows) == 1 and isinstance(rows[0][0], NUMERIC), where
                else:
                    assert target["format"] == "table" and len(rows[0]) >= 2, where
                checked += 1
    assert checked >= 20


def panel_sql(dashboard_name: str, title_start: str) -> str:
    (panel,) = [p for p in committed(dashboard_name)["panels"] if p["title"].startswith(title_start)]
    sql: str = panel["targets"][0]["rawSql"]
    return sql


async def test_the_overview_shows_the_projectors_standings_and_nothing_of_its_own(demo: Demo) -> None:
    """Every number of the Overview (average, counts, each unit's rate, standing and rank) equals the owner's,
    `pim standings` (shared/standings.py), for the national group on 31 October 2025: twelve central agencies
    and the provinces against one average, a silent agency counted with 0, a late supplement not assessed."""
    async with demo.pool.acquire() as conn:
        (national,) = await standings(conn, dt.date(2025, 10, 31), "public_investment_disbursement", 2025, "national")
    owner = {u.unit_code: u for lst in national.lists for u in (*lst.at_or_above, *lst.below)}
    owner |= {u.unit_code: u for u in national.not_assessed}
    (average,) = await run_as_reader(demo.pool, panel_sql("overview", "Bình quân"))
    assert national.average is not None and average[0] == round(national.average * 100, 2)
    (counts,) = await run_as_reader(demo.pool, panel_sql("overview", "Số đơn vị"))
    assert (counts[0], counts[1], counts[2]) == (national.assessed, national.no_report, len(national.not_assessed))
    rows = await run_as_reader(demo.pool, panel_sql("overview", "Tiến độ"))
    names = {u.name: u for u in owner.values()}
    assert len(rows) == len(owner) == 34 + 12
    for row in rows:
        unit = names[row["Đơn vị / Unit"]]
        assert row["Hạng / Rank"] == unit.rank
        assert row["So với bình quân / Standing"] == unit.standing
        assert row["Tỷ lệ % / Rate %"] == (None if unit.rate is None else round(unit.rate * 100, 2))
    # the Ministry's shape: one average, two lists; the silent agency is below with 0; Quảng Ngãi not assessed
    assert [lst.list_id for lst in national.lists] == ["central", "local"]
    assert sum(len(lst.at_or_above) + len(lst.below) for lst in national.lists if lst.list_id == "central") == 12
    assert not owner["uy-ban-dan-toc"].reported and owner["uy-ban-dan-toc"].standing == "below"
    assert owner["quang-ngai"].not_assessed_reason == "late_supplement"
    assert national.no_report == 1


async def test_the_leader_scorecards_as_known_on_is_pim_progress_as_known_on(demo: Demo) -> None:
    """The leader dashboard's "as known on" shows the projector's snapshot of that month end, equal to what
    `pim progress --as-known-on` computes (targets known from their decisions, period amounts, mergers)."""
    rows = await run_as_reader(demo.pool, panel_sql("leader", "Theo số liệu đã biết"))
    async with demo.pool.acquire() as conn:
        known = await progress_as_known_on(conn, dt.date(2025, 9, 30), ProgressRules())
    latest: dict[tuple[str, int], dict[str, Any]] = {}
    for row in known:
        key = (row["indicator"], row["plan_year"])
        if (
            row["unit_code"] == "gia-lai"
            and row["category"] == ""
            and (key not in latest or latest[key]["as_of"] < row["as_of"])
        ):
            latest[key] = row
    assert rows and len(rows) == len(latest)
    for row in rows:
        owner = latest[(row["Chỉ tiêu / Indicator"], row["Năm / Year"])]
        assert row["Số liệu đến / As of"] == owner["as_of"]
        assert row["Tỷ lệ % / Rate %"] == round(owner["rate"] * 100, 2)
        assert row["Kế hoạch, tỷ đồng / Target, bn VND"] is not None  # the plans were decided by then


async def test_the_reader_role_reads_the_read_models_and_nothing_else(demo: Demo) -> None:
    async with demo.pool.acquire() as conn:
        for sql, allowed in (
            ("SELECT count(*) FROM unit_progress", True),
            ("SELECT count(*) FROM alerts", True),
            ("SELECT count(*) FROM api_tokens", False),  # secret hashes
            ("SELECT count(*) FROM events", False),
            ("SELECT count(*) FROM alert_outbox", False),
            ("UPDATE alerts SET severity = 'warning'", False),
            ("INSERT INTO units (unit_code, name, level, committee, position) VALUES ('x', 'x', 'x', 'x', 1)", False),
            ("CREATE TABLE grafana_scratch (x int)", False),
        ):
            async with conn.transaction():
                await conn.execute("SET LOCAL ROLE pim_reader")
                if allowed:
                    await conn.fetchval(sql)
                else:
                    with pytest.raises(asyncpg.InsufficientPrivilegeError):
                        await conn.execute(sql)
