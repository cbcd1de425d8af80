"""The organization boards' Grafana dashboards, as code (grafana-foundation-sdk builders), written as
JSON to infra/grafana/dashboards/ by `pim grafana dashboards`.

Every panel reads the PostgreSQL read models through the `pim-postgres` data source (a read-only role)
and shows the owners' numbers as they keep them: nothing here computes a rate, an average, a standing,
a rank, a head, a total of months behind or an alert's age. What the SQL does is choose rows and
convert units (đồng to tỷ đồng, fractions to %). Codes are shown through value mappings whose words and
colours come from `shared/display.py` (the board pack's too); every variable enters SQL through
Grafana's `sqlstring` format, quoted and escaped, then cast to its type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import common, dashboard, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import GraphTresholdsStyleMode
from grafana_foundation_sdk.models.dashboard import (
    DashboardLinkType,
    DataSourceRef,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
    VariableRefresh,
)

from pim.grafana.operations import operations
from services.alerts import Rules, load_alert_config
from shared.display import (
    ALERT_EVENT_LABELS,
    ALERT_STATUS_LABELS,
    COLOURS,
    CONCLUSION_LABELS,
    INDICATOR_LABELS,
    NO_REPORT,
    NOT_ASSESSED_REASONS,
    PROMISE_LABELS,
    ROLE_LABELS,
    RULE_LABELS,
    SEVERITY_LABELS,
    STANDING_LABELS,
    STATUS_LABELS,
    VOTE_BAND_LABELS,
)

DATASOURCE_UID = "pim-postgres"
DATASOURCE = DataSourceRef(type_val="grafana-postgresql-datasource", uid=DATASOURCE_UID)
TIMEZONE = "Asia/Ho_Chi_Minh"
# The alert rules the alerts service runs in production (compose points PIM_ALERT_RULES_FILE here): the
# unit chart draws their fixed shares as thresholds, so a changed rule changes the chart when regenerated.
RULES_FILE = Path(__file__).parents[2] / "infra" / "alerts" / "rules.yaml"
INDICATORS = ",".join(f"{label} : {code}" for code, label in INDICATOR_LABELS.items())
# Columns the panels format by their names: money in tỷ đồng, grouped in thousands in the reader's locale
# (vi-VN: 90.144,1); rates and paces as percentages.
MONEY_COLUMNS = ".*tỷ đồng.*"
PERCENT_COLUMNS = ".*%$"
RATE_COLUMNS = "^Tỷ lệ.*%$"


def sql_var(name: str, cast: str = "text") -> str:
    """A dashboard variable in SQL: quoted and escaped by Grafana (`sqlstring`), then cast, so a value
    edited in the URL is a value, never SQL."""
    return f"${{{name}:sqlstring}}::{cast}"


class SqlQuery(cogvariants.Dataquery):
    """A raw SQL target of Grafana's PostgreSQL data source (the SDK has no model for it)."""

    def __init__(self, ref_id: str, sql: str, result_format: str) -> None:
        self.ref_id, self.sql, self.result_format = ref_id, sql, result_format

    def to_json(self) -> dict[str, Any]:
        return {
            "refId": self.ref_id,
            "datasource": {"type": DATASOURCE.type_val, "uid": DATASOURCE.uid},
            "editorMode": "code",
            "format": self.result_format,
            "rawQuery": True,
            "rawSql": self.sql,
        }


class Sql(cogbuilder.Builder[SqlQuery]):
    def __init__(self, sql: str, result_format: str = "table", ref_id: str = "A") -> None:
        self._query = SqlQuery(ref_id, " ".join(sql.split()), result_format)

    def build(self) -> SqlQuery:
        return self._query


def link(title: str, uid: str, **variables: str) -> dict[str, str]:
    """A data link to another PIM dashboard with its variables set (`${__data.fields.x}`: this row's x)."""
    query = "&".join(f"var-{name}={value}" for name, value in variables.items())
    return {"title": title, "url": f"/d/{uid}/{uid}?{query}"}


def mapped(labels: Mapping[str, str], coloured: bool = True) -> list[DynamicConfigValue]:
    """A code column shown in words (Vietnamese / English), on its colour where it has one."""
    options = {
        code: {"text": text, "index": index, **({"color": COLOURS[code]} if coloured and code in COLOURS else {})}
        for index, (code, text) in enumerate(labels.items())
    }
    properties = [DynamicConfigValue("mappings", [{"type": "value", "options": options}])]
    if coloured:
        properties.append(DynamicConfigValue("custom.cellOptions", {"type": "color-background", "mode": "basic"}))
    return properties


def _table(
    title: str,
    sql: str,
    *,
    width: int = 24,
    height: int = 10,
    codes: Mapping[str, list[DynamicConfigValue]] | None = None,
    links: Mapping[str, dict[str, str]] | None = None,
    hidden: Sequence[str] = (),
) -> table.Panel:
    """A table panel; `codes` columns shown through their mappings, `links` columns open another
    dashboard, `hidden` columns carry what a link needs."""
    panel = (
        table.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .with_target(Sql(sql))
        .span(width)
        .height(height)
        .override_by_regexp(MONEY_COLUMNS, [DynamicConfigValue("unit", "locale"), DynamicConfigValue("decimals", 1)])
        .override_by_regexp(PERCENT_COLUMNS, [DynamicConfigValue("unit", "percent"), DynamicConfigValue("decimals", 2)])
        .override_by_regexp(
            RATE_COLUMNS,
            [
                DynamicConfigValue("min", 0),
                DynamicConfigValue("max", 100),
                # the share done, as a bar: how far along, not a verdict (the status and standing columns,
                # the owners' verdicts, carry the colours that judge)
                DynamicConfigValue("color", {"mode": "continuous-blues"}),
                DynamicConfigValue(
                    "custom.cellOptions", {"type": "gauge", "mode": "basic", "valueDisplayMode": "text"}
                ),
            ],
        )
    )
    for column, properties in (codes or {}).items():
        panel = panel.override_by_name(column, properties)
    for column, target in (links or {}).items():
        panel = panel.override_by_name(column, [DynamicConfigValue("links", [target])])
    for column in hidden:
        panel = panel.override_by_name(column, [DynamicConfigValue("custom.hidden", True)])
    return panel


def _stat(title: str, sql: str, unit: str = "none", width: int = 6) -> stat.Panel:
    return stat.Panel().title(title).datasource(DATASOURCE).with_target(Sql(sql)).unit(unit).span(width).height(5)


def _query_variable(name: str, label: str, sql: str) -> dashboard.QueryVariable:
    return (
        dashboard.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(" ".join(sql.split()))
        .refresh(VariableRefresh.ON_DASHBOARD_LOAD)
    )


def _board(title: str, uid: str) -> dashboard.Dashboard:
    """A PIM dashboard: Vietnam's time zone, the other PIM dashboards a click away."""
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .tags(["pim"])
        .timezone(TIMEZONE)
        .link(
            dashboard.DashboardLink("Bảng PIM / PIM dashboards")
            .type(DashboardLinkType.DASHBOARDS)
            .tags(["pim"])
            .as_dropdown(True)
        )
    )


def _without_time_picker(board: dashboard.Dashboard) -> dashboard.Dashboard:
    """For a dashboard no panel of which reads the time range: a picker there would do nothing."""
    return board.time("now-1y", "now").timepicker(dashboard.TimePicker().hidden(True))


PLAN_YEAR = _query_variable(
    "plan_year", "Năm kế hoạch / Plan year", "SELECT DISTINCT plan_year FROM targets ORDER BY 1 DESC"
).description(
    "Tháng 1 có hai năm kế hoạch: vốn năm trước giải ngân đến 31/01 và được đo lần cuối ngày đó, khi năm mới đã"
    " bắt đầu — chọn năm ở đây. / In January two plan years are open: the previous year's capital is disbursed"
    " until 31 January and measured for the last time that day while the new year has begun — choose it here."
)
INDICATOR = dashboard.CustomVariable("indicator").label("Chỉ tiêu / Indicator").values(INDICATORS)
KEY = f"indicator = {sql_var('indicator')} AND plan_year = {sql_var('plan_year', 'integer')}"

# The overview shows one assessment group on one of its dates, as the projector keeps them: every number
# on it is the projector's (tests hold each to `pim standings`). The date defaults to the group's latest.
GROUP = _query_variable(
    "group", "Nhóm đánh giá / Assessment group",
    "SELECT name AS __text, group_id AS __value FROM assessment_groups ORDER BY ordinal, group_id",
)  # fmt: skip
GROUP_DATE = _query_variable(
    "as_of", "Số liệu đến ngày / As of",
    f"SELECT DISTINCT as_of::text FROM assessment_totals WHERE group_id = {sql_var('group')} AND {KEY}"
    " ORDER BY 1 DESC",
)  # fmt: skip
AT_GROUP_DATE = (
    f"s.group_id = {sql_var('group')} AND s.indicator = {sql_var('indicator')}"
    f" AND s.plan_year = {sql_var('plan_year', 'integer')} AND s.as_of = {sql_var('as_of', 'date')}"
)
TO_UNIT = link(
    "Mở đơn vị / Open the unit", "pim-unit", unit="${__data.fields.unit_code}", indicator="${indicator}",
    plan_year="${plan_year}", as_of="${as_of}",
)  # fmt: skip
# Not the indicator: a finding about a leader (a confidence vote) has none; the unit dashboard lists
# every alert of the unit whichever indicator it shows.
TO_UNIT_FROM_ALERT = link(
    "Mở đơn vị / Open the unit", "pim-unit", unit="${__data.fields.unit_code}", plan_year="${__data.fields.plan_year}"
)


def to_leader(field: str) -> dict[str, str]:
    return link("Mở thẻ điểm lãnh đạo / Open the leader scorecard", "pim-leader", leader=f"${{__data.fields.{field}}}")


TO_ALERTS = link(
    "Mở bảng cảnh báo của Ủy ban / Open the committee's alerts", "pim-alerts",
    committee="${__data.fields.routed_to}",
)  # fmt: skip
STATUS = mapped({**STATUS_LABELS, **NO_REPORT})
STANDING = mapped(STANDING_LABELS)
SEVERITY = mapped(SEVERITY_LABELS)
RULE = mapped(RULE_LABELS, coloured=False)
ROLE = mapped(ROLE_LABELS, coloured=False)
INDICATOR_NAME = mapped(INDICATOR_LABELS, coloured=False)


def overview() -> dashboard.Dashboard:
    # The head is the projector's answer (leader_accountability): who was answerable as head on the date.
    progress = f"""
      SELECT s.rank AS "Hạng / Rank", u.name AS "Đơn vị / Unit", s.unit_code, l.name AS "Danh sách / List",
        coalesce(head.leader_name, 'khuyết / vacant') AS "Người đứng đầu / Head", head.leader_id AS head_id,
        s.figures_as_of AS "Số liệu đến / Figures as of",
        round(coalesce(s.basis, s.plan) / 1e9, 1) AS "Kế hoạch, tỷ đồng / Plan, bn VND",
        round(s.actual / 1e9, 1) AS "Thực hiện, tỷ đồng / Actual, bn VND", round(s.rate * 100, 2) AS "Tỷ lệ % / Rate %",
        round(h.expected_pace * 100, 2) AS "Tiến độ yêu cầu % / Pace %",
        round(s.average * 100, 2) AS "Bình quân % / Average %", s.standing AS "So với bình quân / Standing",
        coalesce(h.status, 'no_report') AS "Trạng thái / Status"
      FROM assessment_standings s JOIN units u USING (unit_code)
      JOIN assessment_lists l USING (group_id, list_id)
      LEFT JOIN unit_progress_history h ON (h.unit_code, h.indicator, h.plan_year, h.category, h.as_of)
        = (s.unit_code, s.indicator, s.plan_year, '', s.figures_as_of)
      LEFT JOIN LATERAL (SELECT a.leader_id, a.leader_name FROM leader_accountability a
        WHERE (a.unit_code, a.indicator, a.plan_year, a.answerable_as) = (s.unit_code, s.indicator, s.plan_year, 'head')
          AND a.stint_start <= s.as_of ORDER BY a.stint_start DESC LIMIT 1) head ON true
      WHERE {AT_GROUP_DATE} ORDER BY s.rank NULLS LAST, u.name"""
    at_date = f"group_id = {sql_var('group')} AND {KEY} AND as_of = {sql_var('as_of', 'date')}"
    average = f"""
      SELECT round(average * 100, 2) AS "Bình quân % / Average %" FROM assessment_totals WHERE {at_date}"""
    counts = f"""
      SELECT assessed AS "Được đánh giá / Assessed", no_report AS "Chưa báo cáo / No report",
        not_assessed AS "Không đánh giá / Not assessed",
        round(total_basis / 1e9, 1) AS "Kế hoạch, tỷ đồng / Plan, bn VND",
        round(total_actual / 1e9, 1) AS "Thực hiện, tỷ đồng / Actual, bn VND" FROM assessment_totals
      WHERE {at_date}"""
    lists = f"""
      SELECT l.name AS "Danh sách / List", s.standing AS "So với bình quân / Standing", s.list_rank AS "Hạng / Rank",
        u.name AS "Đơn vị / Unit", s.unit_code, round(s.rate * 100, 2) AS "Tỷ lệ % / Rate %",
        coalesce(s.not_assessed_reason, CASE WHEN NOT s.reported THEN 'no_report' END, '') AS "Ghi chú / Note"
      FROM assessment_standings s JOIN units u USING (unit_code) JOIN assessment_lists l USING (group_id, list_id)
      WHERE {AT_GROUP_DATE}
      ORDER BY l.ordinal, CASE s.standing WHEN 'at_or_above' THEN 0 WHEN 'below' THEN 1 ELSE 2 END,
        s.list_rank NULLS LAST, u.name"""
    # Reporting on time, an indicator of its own, as the projector ranks it (reporting_standings).
    on_time = f"""
      SELECT r.rank AS "Hạng / Rank", r.name AS "Đơn vị / Unit", r.unit_code,
        r.expected AS "Kỳ đến hạn / Due", r.on_time AS "Đúng hạn / On time", r.late AS "Chậm / Late",
        r.missing AS "Chưa nộp / Missing", round(r.rate * 100, 2) AS "Tỷ lệ đúng hạn % / On-time rate %",
        round(r.group_rate * 100, 2) AS "Của nhóm % / Group's %"
      FROM reporting_standings({sql_var("as_of", "date")}, {sql_var("indicator")}, {sql_var("plan_year", "integer")},
        {sql_var("group")}) r
      ORDER BY r.rank, r.name"""
    return (
        _without_time_picker(_board("PIM — Tổng quan / Overview", "pim-overview"))
        .with_variable(PLAN_YEAR)
        .with_variable(INDICATOR)
        .with_variable(GROUP)
        .with_variable(GROUP_DATE)
        .with_panel(_stat("Bình quân của nhóm / Group weighted average", average, "percent").decimals(2))
        .with_panel(_table("Số đơn vị / Units counted", counts, width=18, height=5))
        .with_panel(
            _table(
                "Tiến độ theo đơn vị, cùng một ngày $as_of / Progress per unit, all on $as_of",
                progress,
                height=14,
                codes={"So với bình quân / Standing": STANDING, "Trạng thái / Status": STATUS},
                links={"Đơn vị / Unit": TO_UNIT, "Người đứng đầu / Head": to_leader("head_id")},
                hidden=("unit_code", "head_id"),
            )
        )
        .with_panel(
            _table(
                "Trên / dưới mức bình quân, không đánh giá / At or above, below, not assessed",
                lists,
                codes={
                    "So với bình quân / Standing": STANDING,
                    "Ghi chú / Note": mapped({**NOT_ASSESSED_REASONS, **NO_REPORT}, coloured=False),
                },
                links={"Đơn vị / Unit": TO_UNIT},
                hidden=("unit_code",),
            )
        )
        .with_panel(
            _table(
                "Báo cáo đúng hạn đến $as_of / Reports on time to $as_of",
                on_time,
                links={"Đơn vị / Unit": TO_UNIT},
                hidden=("unit_code",),
            )
        )
    )


def _rule_thresholds(rules: Rules) -> dashboard.ThresholdsConfig:
    """The alert rules' fixed shares (60 % by 30 September, 95 % of the plan by the year end), as lines."""
    lines = {rules.below_share_at_sep30.share: "orange", rules.year_end_shortfall.share: "green"}
    steps = [Threshold(value=None, color="transparent")]
    steps += [Threshold(value=float(share * 100), color=colour) for share, colour in sorted(lines.items())]
    return dashboard.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps)


def unit_drilldown() -> dashboard.Dashboard:
    unit_var = sql_var("unit")
    curve = f"""
      SELECT h.as_of::timestamptz AS time, round(h.rate * 100, 2) AS "Tỷ lệ % / Rate %",
        round(h.comparable_rate * 100, 2) AS "Tỷ lệ so sánh được % / Comparable rate %",
        round(h.expected_pace * 100, 2) AS "Tiến độ yêu cầu % / Pace %",
        round(s.average * 100, 2) AS "Bình quân nhóm % / Group average %"
      FROM unit_progress_history h LEFT JOIN unit_standing_history s USING (unit_code, indicator, plan_year, as_of)
      WHERE h.unit_code = {unit_var} AND h.indicator = {sql_var("indicator")}
        AND h.plan_year = {sql_var("plan_year", "integer")}
        AND h.category = '' AND h.as_of <= {sql_var("as_of", "date")} AND $__timeFilter(h.as_of) ORDER BY h.as_of"""
    heads = f"""
      SELECT leader_name AS "Họ tên / Name", leader_id, role AS "Vai trò / Role",
        coalesce(indicator, '') AS "Phụ trách / In charge of", start_date AS "Từ / From", end_date AS "Đến / To"
      FROM tenures WHERE unit_code = {unit_var} AND start_date IS NOT NULL ORDER BY start_date"""
    # "Since" and "age" are the alerts service's (alert_ages): from the data date that first showed it.
    alerts = f"""
      SELECT a.severity AS "Mức độ / Severity", a.rule AS "Quy tắc / Rule", a.period AS "Kỳ / Period",
        a.summary AS "Nội dung / Finding",
        coalesce(a.responsible_leader_name, 'khuyết / vacant') AS "Người đứng đầu / Head", a.responsible_leader_id,
        coalesce(a.escalated_to, a.committee) AS "Ủy ban Kiểm tra / Committee",
        coalesce(a.escalated_to, a.committee) AS routed_to,
        g.since AS "Từ ngày số liệu / Since (data date)", g.age_days AS "Số ngày / Age, days"
      FROM alerts a JOIN alert_ages g USING (fingerprint)
      WHERE a.unit_code = {unit_var} AND a.status = 'open' ORDER BY a.severity, g.since"""
    reports = f"""
      SELECT as_of AS "Kỳ / As of", category AS "Nguồn / Category",
        round(amount / 1e9, 3) AS "Số tiền, tỷ đồng / Amount, bn VND",
        amount_kind AS "Loại / Kind", known_on AS "Ngày biết / Known on",
        coalesce(correction_reason, '') AS "Lý do điều chỉnh / Correction",
        CASE WHEN row_number() OVER (PARTITION BY category, project_code, as_of ORDER BY position DESC) > 1
          THEN 'superseded' ELSE '' END AS "Ghi chú / Note"
      FROM figures WHERE unit_code = {unit_var} AND {KEY}
      ORDER BY as_of DESC, position DESC"""
    year = sql_var("plan_year", "integer")
    bands = f"""
      SELECT day::timestamptz AS time, coalesce(head.leader_name, 'khuyết / vacant') AS "Người đứng đầu / Head"
      FROM generate_series(make_date({year}, 1, 1), make_date({year} + 1, 1, 31), interval '1 day') AS day
      LEFT JOIN LATERAL (SELECT t.leader_name FROM tenures t WHERE t.unit_code = {unit_var}
        AND t.role IN ('head', 'acting_head') AND t.start_date <= day AND (t.end_date IS NULL OR t.end_date >= day)
        ORDER BY t.start_date DESC LIMIT 1) head ON true
      WHERE $__timeFilter(day) ORDER BY day"""
    unit = _query_variable(
        "unit", "Đơn vị / Unit", "SELECT name AS __text, unit_code AS __value FROM units ORDER BY name"
    )
    as_of = _query_variable(
        "as_of", "Số liệu đến ngày / As of",
        f"SELECT DISTINCT as_of::text FROM unit_progress_history WHERE unit_code = {unit_var} AND {KEY}"
        " ORDER BY 1 DESC",
    )  # fmt: skip
    rules = load_alert_config(RULES_FILE).rules
    return (
        _board("PIM — Đơn vị / Unit drill-down", "pim-unit")
        .time("now-2y", "now")
        .with_variable(unit)
        .with_variable(PLAN_YEAR)
        .with_variable(INDICATOR)
        .with_variable(as_of)
        .with_panel(
            timeseries.Panel()
            .title("Lũy kế so với tiến độ, đến $as_of / Cumulative rate against the pace milestones, to $as_of")
            .description("Đường đứt: tỷ lệ cố định của quy tắc cảnh báo / dashed: the alert rules' fixed shares")
            .datasource(DATASOURCE)
            .with_target(Sql(curve, "time_series"))
            .unit("percent")
            .decimals(2)
            .thresholds(_rule_thresholds(rules))
            .thresholds_style(common.GraphThresholdsStyleConfig().mode(GraphTresholdsStyleMode.DASHED))
            .span(24)
            .height(10)
        )
        .with_panel(
            statetimeline.Panel()
            .title("Người đứng đầu theo thời gian / Who headed the unit, day by day")
            .datasource(DATASOURCE)
            .with_target(Sql(bands, "time_series"))
            .span(24)
            .height(4)
        )
        .with_panel(
            _table(
                "Người đứng đầu qua các thời kỳ / Heads over time",
                heads,
                width=12,
                height=8,
                codes={"Vai trò / Role": ROLE, "Phụ trách / In charge of": INDICATOR_NAME},
                links={"Họ tên / Name": to_leader("leader_id")},
                hidden=("leader_id",),
            )
        )
        .with_panel(
            _table(
                "Cảnh báo đang mở / Open alerts",
                alerts,
                width=12,
                height=8,
                codes={"Mức độ / Severity": SEVERITY, "Quy tắc / Rule": RULE},
                links={
                    "Người đứng đầu / Head": to_leader("responsible_leader_id"),
                    "Ủy ban Kiểm tra / Committee": TO_ALERTS,
                },
                hidden=("responsible_leader_id", "routed_to"),
            )
        )
        .with_panel(
            _table(
                "Lịch sử báo cáo / Report history (corrections visible)",
                reports,
                height=12,
                codes={"Ghi chú / Note": mapped({"superseded": "Bị thay thế / superseded"}, coloured=False)},
            )
        )
    )


def leader_scorecard() -> dashboard.Dashboard:
    leader_var = sql_var("leader")
    year = sql_var("plan_year", "integer")
    stints = f"""
      SELECT u.name AS "Đơn vị / Unit", a.unit_code, a.indicator AS "Chỉ tiêu / Indicator", a.indicator,
        a.plan_year AS "Năm / Year", a.plan_year, a.role AS "Vai trò / Role", a.stint_start AS "Từ / From",
        a.stint_end AS "Đến / To", round(a.rate_at_start * 100, 2) AS "Tỷ lệ đầu kỳ % / Rate at start %",
        round(a.rate_at_end * 100, 2) AS "Tỷ lệ cuối kỳ % / Rate at end %",
        round(a.gap_arisen * 100, 2) AS "Chênh lệch phát sinh, điểm % / Gap arisen, pp",
        a.months_behind AS "Số tháng chậm / Months behind"
      FROM leader_accountability a JOIN units u USING (unit_code) WHERE a.leader_id = {leader_var}
        AND a.plan_year = {year} ORDER BY a.stint_start, u.name"""
    # The projector's total (leader_scorecards), as the board pack's scorecard shows it.
    months = f"""
      SELECT coalesce((SELECT months_behind FROM leader_scorecards WHERE leader_id = {leader_var}
        AND plan_year = {year}), 0) AS "Số tháng chậm / Months behind" """
    alerts = f"""
      SELECT a.status AS "Tình trạng / Status", a.severity AS "Mức độ / Severity", u.name AS "Đơn vị / Unit",
        a.unit_code, a.plan_year, a.rule AS "Quy tắc / Rule", a.period AS "Kỳ / Period",
        a.summary AS "Nội dung / Finding", g.since AS "Từ ngày số liệu / Since (data date)",
        g.age_days AS "Số ngày / Age, days", coalesce(a.escalated_to, a.committee) AS "Ủy ban Kiểm tra / Committee",
        coalesce(a.escalated_to, a.committee) AS routed_to, coalesce(a.resolution, '') AS "Kết luận / Conclusion"
      FROM alerts a JOIN alert_ages g USING (fingerprint) JOIN units u USING (unit_code)
      WHERE a.responsible_leader_id = {leader_var} ORDER BY a.status, g.since DESC"""
    votes = f"""
      SELECT vote_date AS "Ngày / Date", voters AS "Số phiếu / Voters", high AS "Tín nhiệm cao / High",
        confidence AS "Tín nhiệm / Confidence", low AS "Tín nhiệm thấp / Low", band AS "Mức / Band"
      FROM confidence_votes WHERE leader_id = {leader_var} ORDER BY vote_date DESC"""
    # What the projector knew at the month end chosen: its snapshot, computed by the same code as
    # `pim progress --as-known-on` (nothing is summed here).
    known = f"""
      SELECT u.name AS "Đơn vị / Unit", k.unit_code, k.indicator AS "Chỉ tiêu / Indicator", k.indicator,
        k.plan_year AS "Năm / Year", k.plan_year, k.as_of AS "Số liệu đến / As of",
        round(k.actual_ytd / 1e9, 1) AS "Thực hiện, tỷ đồng / Actual, bn VND",
        round(k.target / 1e9, 1) AS "Kế hoạch, tỷ đồng / Target, bn VND", round(k.rate * 100, 2) AS "Tỷ lệ % / Rate %",
        k.status AS "Trạng thái / Status"
      FROM known_on_progress k JOIN units u USING (unit_code)
      WHERE k.known_on = {sql_var("known_on", "date")}
        AND k.unit_code IN (SELECT unit_code FROM tenures WHERE leader_id = {leader_var})
      ORDER BY k.plan_year DESC, u.name, k.indicator"""
    leader = _query_variable(
        "leader",
        "Lãnh đạo / Leader",
        "SELECT DISTINCT leader_name || ' (' || leader_id || ')' AS __text, leader_id AS __value FROM tenures"
        " WHERE leader_id IS NOT NULL ORDER BY 1",
    )
    # The projector's month-end snapshots: a date chosen from those it keeps, never typed.
    known_on = _query_variable(
        "known_on", "Theo số liệu đã biết đến ngày / As known on",
        "SELECT DISTINCT known_on::text FROM known_on_progress ORDER BY 1 DESC",
    )  # fmt: skip
    unit_of_row = link(
        "Mở đơn vị / Open the unit", "pim-unit", unit="${__data.fields.unit_code}",
        indicator="${__data.fields.indicator}", plan_year="${__data.fields.plan_year}",
    )  # fmt: skip
    row_keys = ("unit_code", "indicator", "plan_year")
    return (
        _without_time_picker(_board("PIM — Lãnh đạo / Leader scorecard", "pim-leader"))
        .with_variable(leader)
        .with_variable(PLAN_YEAR)
        .with_variable(known_on)
        .with_panel(_stat("Tổng số tháng chậm tiến độ, năm $plan_year / Months behind pace in $plan_year", months))
        .with_panel(
            _table(
                "Chỉ tiêu trong nhiệm kỳ, năm $plan_year / Indicators answered for in $plan_year, tenure only",
                stints,
                width=18,
                height=8,
                codes={"Chỉ tiêu / Indicator": INDICATOR_NAME, "Vai trò / Role": ROLE},
                links={"Đơn vị / Unit": unit_of_row},
                hidden=row_keys,
            )
        )
        .with_panel(
            _table(
                "Cảnh báo / Alerts",
                alerts,
                width=12,
                codes={
                    "Tình trạng / Status": mapped(ALERT_STATUS_LABELS),
                    "Mức độ / Severity": SEVERITY,
                    "Quy tắc / Rule": RULE,
                },
                links={"Đơn vị / Unit": TO_UNIT_FROM_ALERT, "Ủy ban Kiểm tra / Committee": TO_ALERTS},
                hidden=("unit_code", "plan_year", "routed_to"),
            )
        )
        .with_panel(
            _table(
                "Phiếu tín nhiệm / Confidence votes", votes, width=12, codes={"Mức / Band": mapped(VOTE_BAND_LABELS)}
            )
        )
        .with_panel(
            _table(
                "Theo số liệu đã biết đến ngày $known_on / As known on $known_on",
                known,
                codes={"Chỉ tiêu / Indicator": INDICATOR_NAME, "Trạng thái / Status": STATUS},
                links={"Đơn vị / Unit": unit_of_row},
                hidden=row_keys,
            )
        )
    )


def alerts_board() -> dashboard.Dashboard:
    committee_var = sql_var("committee")
    for_committee = f"(a.committee = {committee_var} OR a.escalated_to = {committee_var})"
    open_alerts = f"""
      SELECT a.fingerprint, a.severity AS "Mức độ / Severity", g.since AS "Từ ngày số liệu / Since (data date)",
        g.age_days AS "Số ngày / Age, days", u.name AS "Đơn vị / Unit", a.unit_code, a.plan_year,
        a.rule AS "Quy tắc / Rule", a.period AS "Kỳ / Period", a.summary AS "Nội dung / Finding",
        coalesce(a.responsible_leader_name, 'khuyết / vacant') AS "Người đứng đầu / Head", a.responsible_leader_id,
        a.committee AS "Ủy ban Kiểm tra / Committee", coalesce(a.escalated_to, '') AS "Chuyển lên / Escalated to",
        coalesce(a.acknowledged_by, '') AS "Tiếp nhận / Acknowledged by",
        a.silenced_until AS "Tạm dừng đến / Silenced until"
      FROM alerts a JOIN alert_ages g USING (fingerprint) JOIN units u USING (unit_code)
      WHERE a.status = 'open' AND {for_committee}
      ORDER BY a.severity DESC, g.since, u.name"""
    counts = f"""
      SELECT a.severity AS "Mức độ / Severity", count(*) AS "Đang mở / Open" FROM alerts a
      WHERE a.status = 'open' AND {for_committee} GROUP BY 1 ORDER BY 1"""
    # Resolved in the chosen period (default: this month, in Vietnam's time zone), by the date of the
    # resolution: the data date that put the unit back on track, or the day the committee concluded.
    resolved = f"""
      SELECT a.resolved_as_of AS "Ngày xử lý / Resolved on", u.name AS "Đơn vị / Unit", a.unit_code, a.plan_year,
        a.rule AS "Quy tắc / Rule", a.period AS "Kỳ / Period", a.resolved_by AS "Người xử lý / By",
        coalesce(a.resolution, '') AS "Kết luận / Conclusion"
      FROM alerts a JOIN alert_ages g USING (fingerprint) JOIN units u USING (unit_code)
      WHERE a.status = 'resolved' AND $__timeFilter(g.resolved_day_start) AND {for_committee}
      ORDER BY a.resolved_as_of DESC, u.name"""
    # The review of each alert as the projector keeps it from the ledger (the alerts service's events): asked
    # of whom and by when, explained, each promise's verdict from the figures, the committee's conclusion.
    reviews = f"""
      SELECT r.on_date AS "Ngày / Date", r.event_type AS "Bước / Step", u.name AS "Đơn vị / Unit", r.unit_code,
        a.plan_year, coalesce(r.leader_name, '') AS "Người được yêu cầu / Asked of", r.due AS "Hạn / Due",
        CASE WHEN r.kept THEN 'kept' WHEN NOT r.kept THEN 'missed' END AS "Cam kết / Promise",
        r.outcome AS "Hình thức kết luận / Outcome", coalesce(r.body, '') AS "Nội dung / Text"
      FROM review_timeline r JOIN alerts a USING (fingerprint) JOIN units u ON u.unit_code = r.unit_code
      WHERE {for_committee}
      ORDER BY r.on_date DESC, r.position DESC"""
    committee = _query_variable(
        "committee",
        "Ủy ban Kiểm tra / Committee",
        "SELECT committee FROM units UNION SELECT escalated_to FROM alerts WHERE escalated_to IS NOT NULL ORDER BY 1",
    )
    row_keys = ("unit_code", "plan_year")
    return (
        _board("PIM — Cảnh báo / Alerts board", "pim-alerts")
        .time("now/M", "now/M")
        .with_variable(committee)
        .with_panel(
            _table(
                "Đang mở theo mức độ / Open by severity",
                counts,
                width=6,
                height=6,
                codes={"Mức độ / Severity": SEVERITY},
            )
        )
        .with_panel(
            _table(
                "Cảnh báo đang mở / Open alerts",
                open_alerts,
                width=18,
                height=14,
                codes={"Mức độ / Severity": SEVERITY, "Quy tắc / Rule": RULE},
                links={
                    "Đơn vị / Unit": TO_UNIT_FROM_ALERT,
                    "Người đứng đầu / Head": to_leader("responsible_leader_id"),
                },
                hidden=(*row_keys, "responsible_leader_id", "fingerprint"),
            )
        )
        .with_panel(
            _table(
                "Đã xử lý trong khoảng đã chọn (mặc định: tháng này) / Resolved in the chosen range (default: this"
                " month)",
                resolved,
                codes={"Quy tắc / Rule": RULE},
                links={"Đơn vị / Unit": TO_UNIT_FROM_ALERT},
                hidden=row_keys,
            )
        )
        .with_panel(
            _table(
                "Giải trình, cam kết, kết luận / Explanations, promises, conclusions",
                reviews,
                codes={
                    "Bước / Step": mapped(ALERT_EVENT_LABELS, coloured=False),
                    "Cam kết / Promise": mapped(PROMISE_LABELS),
                    "Hình thức kết luận / Outcome": mapped(CONCLUSION_LABELS, coloured=False),
                },
                links={"Đơn vị / Unit": TO_UNIT_FROM_ALERT},
                hidden=row_keys,
            )
        )
    )


DASHBOARDS = {
    "overview": overview,
    "unit": unit_drilldown,
    "leader": leader_scorecard,
    "alerts": alerts_board,
}


# The operators' dashboard (Prometheus, PIM's own health), written beside the boards' four.
ALL_DASHBOARDS = {**DASHBOARDS, "operations": operations}


def dashboard_json(name: str) -> dict[str, Any]:
    built = ALL_DASHBOARDS[name]().build()
    data: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(built))
    return data


def write_dashboards(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ALL_DASHBOARDS:
        path = folder / f"pim-{name}.json"
        path.write_text(json.dumps(dashboard_json(name), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
