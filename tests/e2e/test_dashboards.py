"""The Grafana dashboards, checked without a Grafana server (none can run here): the committed JSON is
what the code builds, it loads into grafana-foundation-sdk's dashboard model unchanged, and every
panel's and variable's SQL — Grafana's macros and variables expanded as Grafana expands them — runs as
the read-only role against PostgreSQL loaded with the sample, returning the columns and types the panel
expects; every code it returns is shown in words, every link opens a dashboard that has the variables it
sets, and every number a board reads is its owner's."""

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
from pim.grafana.panel_sql import WHOLE_SAMPLE, expand
from services.alerts.queries import list_alerts
from services.alerts.service import AlertsService
from services.projector.progress_rules import ProgressRules
from services.projector.standings import standings
from services.projector.time_travel import progress_as_known_on
from shared.display import STATUS_LABELS
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
# Columns holding codes (status, standing, severity, rule, role, band, indicator): never shown raw.
CODE_COLUMNS = {"Trạng thái / Status", "So với bình quân / Standing", "Mức độ / Severity", "Quy tắc / Rule",
                "Bước / Step", "Cam kết / Promise", "Hình thức kết luận / Outcome",
                "Vai trò / Role", "Mức / Band", "Tình trạng / Status", "Chỉ tiêu / Indicator",
                "Phụ trách / In charge of", "Ghi chú / Note"}  # fmt: skip
NUMERIC = (int, float, Decimal)


def committed(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FOLDER / f"pim-{name}.json").read_text(encoding="utf-8"))
    return data


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
    assert data["timezone"] == "Asia/Ho_Chi_Minh"
    uses_time = any("$__timeFilter" in t["rawSql"] for p in data["panels"] for t in p["targets"])
    assert data.get("timepicker", {}).get("hidden", False) is not uses_time, "a time picker only where a panel reads it"


def test_every_variable_enters_sql_quoted_and_cast() -> None:
    """No variable is pasted into SQL as text: each is in Grafana's `sqlstring` format (quoted, quotes
    doubled) and cast to its type; the time range only through the time filter macro."""
    for name in DASHBOARDS:
        data = committed(name)
        queries = [t["rawSql"] for p in data["panels"] for t in p["targets"]]
        queries += [v["query"] for v in data["templating"]["list"] if v["type"] == "query"]
        for sql in queries:
            rest = re.sub(r"\$\{\w+:sqlstring\}::(text|integer|date)\b", "", sql)
            rest = re.sub(r"\$__timeFilter\([\w.]+\)", "", rest)
            assert "$" not in rest, f"{name}: a variable outside sqlstring or uncast in: {sql}"


async def run_as_reader(
    pool: asyncpg.Pool, sql: str, values: dict[str, str] = VALUES, time_range: tuple[str, str] = WHOLE_SAMPLE
) -> list[asyncpg.Record]:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL ROLE pim_reader")
        rows: list[asyncpg.Record] = await conn.fetch(expand(sql, values, time_range))
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
    `pim standings` (services/projector/standings.py), for the national group on 31 October 2025: twelve
    central agencies and the provinces against one average, a silent agency counted with 0, a late supplement
    not assessed."""
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
            ("SELECT count(*) FROM target_history", False),  # read by no dashboard
            ("SELECT count(*) FROM assessment_rows", False),
            ("SELECT count(*) FROM ingest_figures", False),  # another owner's private table
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


async def test_a_hostile_variable_value_is_a_value_not_sql(demo: Demo) -> None:
    """A "known on" edited in the URL to carry SQL is quoted by Grafana's sqlstring format and refused by
    the cast; nothing it says runs."""
    hostile = {**VALUES, "known_on": "2025-09-30'::date; DROP TABLE units; SELECT '"}
    with pytest.raises(asyncpg.InvalidDatetimeFormatError):
        await run_as_reader(demo.pool, panel_sql("leader", "Theo số liệu đã biết"), hostile)
    async with demo.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM units") > 0


def _links(data: dict[str, Any]) -> list[tuple[dict[str, Any], str, dict[str, str]]]:
    """(panel, column, link) for every data link of a dashboard's panels."""
    found = []
    for panel in data["panels"]:
        for override in panel.get("fieldConfig", {}).get("overrides", []):
            for prop in override["properties"]:
                if prop["id"] == "links":
                    found += [(panel, override["matcher"]["options"], target) for target in prop["value"]]
    return found


async def test_every_link_opens_a_dashboard_that_has_the_variables_it_sets(demo: Demo) -> None:
    """Overview → unit → leader scorecard → the committee's alerts (and back): each link's dashboard
    exists, every variable it sets is one of that dashboard's, and every row field it reads is a column
    the panel's query returns (hidden where it is only for the link)."""
    boards = {committed(name)["uid"]: committed(name) for name in DASHBOARDS}
    variables = {uid: {v["name"] for v in board["templating"]["list"]} for uid, board in boards.items()}
    reached: set[tuple[str, str]] = set()
    for uid, board in boards.items():
        for panel, column, target in _links(board):
            where = f"{uid} / {panel['title']} / {column}"
            match = re.fullmatch(r"/d/([\w-]+)/[\w-]+\?(.*)", target["url"])
            assert match, f"{where}: {target['url']}"
            to, query = match[1], dict(part.split("=", 1) for part in match[2].split("&"))
            assert to in boards, f"{where}: no dashboard {to}"
            assert {k.removeprefix("var-") for k in query} <= variables[to], f"{where}: {query}"
            assert " / " in target["title"]
            rows = await run_as_reader(demo.pool, panel["targets"][0]["rawSql"])
            columns = set(rows[0].keys())
            assert column in columns, f"{where}: the linked column is not in the query"
            for value in query.values():
                field = re.fullmatch(r"\$\{__data\.fields\.(\w+)\}", value)
                if field:
                    assert field[1] in columns, f"{where}: the link reads {field[1]}, which the query lacks"
                    empty = [
                        dict(r) for r in rows if r[field[1]] is None and r[column] not in (None, "khuyết / vacant")
                    ]
                    assert not empty, f"{where}: {field[1]} empty in {empty[:1]}"
                else:
                    assert re.fullmatch(r"\$\{(\w+)\}", value)[1] in variables[uid], f"{where}: {value}"  # type: ignore[index]
            reached.add((uid, to))
    chain = {("pim-overview", "pim-unit"), ("pim-unit", "pim-leader"), ("pim-leader", "pim-alerts"),
             ("pim-unit", "pim-alerts"), ("pim-alerts", "pim-unit"), ("pim-overview", "pim-leader")}  # fmt: skip
    assert chain <= reached


def _mappings(panel: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        override["matcher"]["options"]: prop["value"][0]["options"]
        for override in panel.get("fieldConfig", {}).get("overrides", [])
        for prop in override["properties"]
        if prop["id"] == "mappings"
    }


async def test_every_code_a_panel_returns_is_shown_in_words_and_money_in_ty_dong(demo: Demo) -> None:
    """Statuses, standings, severities, rules, roles, bands and indicators reach a reader through value
    mappings (Vietnamese / English, coloured where they judge), for every value the sample has; money is
    exact (numeric, never float) in tỷ đồng with grouped thousands; rates are percentages."""
    shown = 0
    for name in DASHBOARDS:
        for panel in committed(name)["panels"]:
            if panel["type"] != "table":
                continue
            mappings = _mappings(panel)
            rows = await run_as_reader(demo.pool, panel["targets"][0]["rawSql"])
            for column in dict(rows[0]):
                values = {r[column] for r in rows} - {None, ""}
                if column in CODE_COLUMNS:
                    assert column in mappings, f"{name} / {panel['title']}: {column} shown raw"
                    assert values <= set(mappings[column]), f"{name}: {column}: {values - set(mappings[column])}"
                    assert all(" / " in o["text"] for o in mappings[column].values())
                    shown += len(values)
                if "tỷ đồng" in column:
                    assert all(isinstance(v, Decimal) for v in values), f"{name}: {column}"
            for override in panel["fieldConfig"]["overrides"]:
                if {"id": "custom.hidden", "value": True} in override["properties"]:
                    assert override["matcher"]["options"] in dict(rows[0]), f"{name}: hides a column it lacks"
            overrides = {o["matcher"]["options"]: o["properties"] for o in panel["fieldConfig"]["overrides"]}
            assert {"id": "unit", "value": "locale"} in overrides[".*tỷ đồng.*"]
            assert {"id": "unit", "value": "percent"} in overrides[".*%$"]
    assert shown >= 20
    (status,) = [p for p in committed("overview")["panels"] if p["title"].startswith("Tiến độ")]
    options = _mappings(status)["Trạng thái / Status"]
    assert {k: v["text"] for k, v in options.items() if k in STATUS_LABELS} == STATUS_LABELS
    assert options["critical"]["color"] == "red" and options["on_track"]["color"] == "green"


async def test_alert_dates_and_ages_are_the_alerts_services_from_data_dates(demo: Demo) -> None:
    """The "since" and "age" on the alerts board are the alerts service's own (the committees' API answers the
    same), counted from the data date that first showed the finding: the sample's are 2025 dates, though
    the sample was recorded today."""
    committee = VALUES["committee"]
    rows = await run_as_reader(demo.pool, panel_sql("alerts", "Cảnh báo đang mở"))
    async with demo.pool.acquire() as conn:
        owner = {a["fingerprint"]: a for a in await list_alerts(conn, committee=committee)}
        recorded = await conn.fetchval("SELECT max(raised_at)::date FROM alerts")
    assert rows and len(rows) == len(owner)
    for row in rows:
        alert = owner[row["fingerprint"]]
        assert row["Từ ngày số liệu / Since (data date)"].isoformat() == alert["since"]
        assert row["Số ngày / Age, days"] == alert["age_days"]
        assert row["Từ ngày số liệu / Since (data date)"] < dt.date(2026, 1, 1) <= recorded
    assert len({r["Từ ngày số liệu / Since (data date)"] for r in rows}) > 1


async def test_resolved_this_month_means_this_month(demo: Demo) -> None:
    """The alerts board opens on this month (in Vietnam's time zone) and lists what was resolved in it, by
    the resolution's date: a committee's conclusion of 10 November 2025 in November, nothing of October."""
    data = committed("alerts")
    assert (data["time"]["from"], data["time"]["to"]) == ("now/M", "now/M")
    service = AlertsService.from_settings(demo.settings, demo.pool, clock=lambda: dt.date(2025, 11, 10))
    async with demo.pool.acquire() as conn:
        key, unit = await conn.fetchrow(
            # a revenue finding: the demo's other tests read the stories of the other rules
            "SELECT fingerprint, unit_code FROM alerts WHERE status = 'open' AND committee = $1"
            " AND rule = 'revenue_outturn' ORDER BY fingerprint DESC LIMIT 1",
            VALUES["committee"],
        )
    await service.resolve(key, VALUES["committee"], "Đã kiểm tra, giải trình đạt yêu cầu")
    november = ("2025-10-31T17:00:00Z", "2025-11-30T16:59:59Z")  # 1–30 November, Vietnam time
    rows = await run_as_reader(demo.pool, panel_sql("alerts", "Đã xử lý"), time_range=november)
    assert any(r["unit_code"] == unit and r["Người xử lý / By"] == VALUES["committee"] for r in rows)
    first, last = dt.date(2025, 11, 1), dt.date(2025, 11, 30)
    outside = [dict(r) for r in rows if not first <= r["Ngày xử lý / Resolved on"] <= last]
    assert not outside, outside[:2]
    async with demo.pool.acquire() as conn:
        resolved = await conn.fetchval(
            "SELECT count(*) FROM alerts WHERE status = 'resolved' AND (committee = $1 OR escalated_to = $1)",
            VALUES["committee"],
        )
    assert len(rows) < resolved


async def test_the_leaders_months_behind_are_the_projectors_total(demo: Demo) -> None:
    """The scorecard's "months behind" is the projector's total for the plan year (leader_scorecards, which
    the board pack reads): the sum of the leader's stints that year, whatever units and indicators."""
    (row,) = await run_as_reader(demo.pool, panel_sql("leader", "Tổng số tháng chậm"))
    async with demo.pool.acquire() as conn:
        stints = await conn.fetch(
            "SELECT months_behind FROM leader_accountability WHERE leader_id = $1 AND plan_year = 2025",
            VALUES["leader"],
        )
    assert stints and row[0] == sum(s["months_behind"] for s in stints) > 0


@pytest.mark.parametrize("name", ["overview", "unit"])
def test_the_plan_year_selector_says_january_has_two_open_years(name: str) -> None:
    (plan_year,) = [v for v in committed(name)["templating"]["list"] if v["name"] == "plan_year"]
    assert "Tháng 1 có hai năm kế hoạch" in plan_year["description"] and "31 January" in plan_year["description"]
