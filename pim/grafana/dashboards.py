"""The organization boards' Grafana dashboards, as code (grafana-foundation-sdk builders), written as
JSON to infra/grafana/dashboards/ by `pim grafana dashboards`.

Every panel reads the PostgreSQL read models through the `pim-postgres` data source (a read-only role).
Titles are Vietnamese with English; money in billion VND, rates in %.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

DATASOURCE_UID = "pim-postgres"
DATASOURCE = DataSourceRef(type_val="grafana-postgresql-datasource", uid=DATASOURCE_UID)
INDICATORS = (
    "Giải ngân vốn đầu tư công / Disbursement : public_investment_disbursement,"
    "Thu ngân sách / Budget revenue : budget_revenue"
)


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


def _table(title: str, sql: str, width: int = 24, height: int = 10) -> table.Panel:
    return table.Panel().title(title).datasource(DATASOURCE).with_target(Sql(sql)).span(width).height(height)


def _stat(title: str, sql: str, unit: str = "none", width: int = 6) -> stat.Panel:
    return stat.Panel().title(title).datasource(DATASOURCE).with_target(Sql(sql)).unit(unit).span(width).height(5)


def _query_variable(name: str, label: str, sql: str) -> dashboard.QueryVariable:
    return dashboard.QueryVariable(name).label(label).datasource(DATASOURCE).query(" ".join(sql.split()))


PLAN_YEAR = _query_variable(
    "plan_year", "Năm kế hoạch / Plan year", "SELECT DISTINCT plan_year FROM targets ORDER BY 1 DESC"
)
INDICATOR = dashboard.CustomVariable("indicator").label("Chỉ tiêu / Indicator").values(INDICATORS)

# The overview shows one assessment group on one of its dates, as the projector keeps them: nothing here
# computes a rate, an average, a standing or a rank (tests hold every number to `pim standings`).
GROUP = _query_variable(
    "group", "Nhóm đánh giá / Assessment group",
    "SELECT name AS __text, group_id AS __value FROM assessment_groups ORDER BY ordinal, group_id",
)  # fmt: skip
GROUP_DATE = _query_variable(
    "as_of", "Số liệu đến ngày / As of",
    "SELECT DISTINCT as_of::text FROM assessment_totals WHERE group_id = '$group' AND indicator = '$indicator'"
    " AND plan_year = $plan_year ORDER BY 1 DESC",
)  # fmt: skip
AT_GROUP_DATE = (
    "s.group_id = '$group' AND s.indicator = '$indicator' AND s.plan_year = $plan_year AND s.as_of = '$as_of'"
)


def overview() -> dashboard.Dashboard:
    progress = f"""
      SELECT s.rank AS "Hạng / Rank", u.name AS "Đơn vị / Unit", l.name AS "Danh sách / List",
        coalesce(head.leader_name, 'khuyết / vacant') AS "Người đứng đầu / Head",
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
      LEFT JOIN LATERAL (SELECT t.leader_name FROM tenures t WHERE t.unit_code = s.unit_code
        AND t.role IN ('head', 'acting_head') AND t.start_date <= s.as_of
        AND (t.end_date IS NULL OR t.end_date >= s.as_of)
        ORDER BY t.start_date DESC LIMIT 1) head ON true
      WHERE {AT_GROUP_DATE} ORDER BY s.rank NULLS LAST, u.name"""
    average = """
      SELECT round(average * 100, 2) AS "Bình quân % / Average %" FROM assessment_totals
      WHERE group_id = '$group' AND indicator = '$indicator' AND plan_year = $plan_year AND as_of = '$as_of'"""
    counts = """
      SELECT assessed AS "Được đánh giá / Assessed", no_report AS "Chưa báo cáo / No report",
        not_assessed AS "Không đánh giá / Not assessed",
        round(total_basis / 1e9, 1) AS "Kế hoạch, tỷ đồng / Plan, bn VND",
        round(total_actual / 1e9, 1) AS "Thực hiện, tỷ đồng / Actual, bn VND" FROM assessment_totals
      WHERE group_id = '$group' AND indicator = '$indicator' AND plan_year = $plan_year AND as_of = '$as_of'"""
    lists = f"""
      SELECT l.name AS "Danh sách / List", s.standing AS "So với bình quân / Standing", s.list_rank AS "Hạng / Rank",
        u.name AS "Đơn vị / Unit", round(s.rate * 100, 2) AS "Tỷ lệ % / Rate %",
        coalesce(s.not_assessed_reason, CASE WHEN NOT s.reported THEN 'no_report' END, '') AS "Ghi chú / Note"
      FROM assessment_standings s JOIN units u USING (unit_code) JOIN assessment_lists l USING (group_id, list_id)
      WHERE {AT_GROUP_DATE}
      ORDER BY l.ordinal, CASE s.standing WHEN 'at_or_above' THEN 0 WHEN 'below' THEN 1 ELSE 2 END,
        s.list_rank NULLS LAST, u.name"""
    return (
        dashboard.Dashboard("PIM — Tổng quan / Overview")
        .uid("pim-overview")
        .tags(["pim"])
        .time("now-2y", "now")
        .with_variable(PLAN_YEAR)
        .with_variable(INDICATOR)
        .with_variable(GROUP)
        .with_variable(GROUP_DATE)
        .with_panel(_stat("Bình quân của nhóm / Group weighted average", average, "percent"))
        .with_panel(_table("Số đơn vị / Units counted", counts, width=18, height=5))
        .with_panel(_table("Tiến độ theo đơn vị / Progress per unit", progress, height=14))
        .with_panel(_table("Trên / dưới mức bình quân, không đánh giá / At or above, below, not assessed", lists))
    )


def unit_drilldown() -> dashboard.Dashboard:
    curve = """
      SELECT h.as_of::timestamptz AS time, round(h.rate * 100, 2) AS "Tỷ lệ % / Rate %",
        round(h.comparable_rate * 100, 2) AS "Tỷ lệ so sánh được % / Comparable rate %",
        round(h.expected_pace * 100, 2) AS "Tiến độ yêu cầu % / Pace %",
        round(s.average * 100, 2) AS "Bình quân nhóm % / Group average %"
      FROM unit_progress_history h LEFT JOIN unit_standing_history s USING (unit_code, indicator, plan_year, as_of)
      WHERE h.unit_code = '$unit' AND h.indicator = '$indicator' AND h.plan_year = $plan_year
        AND h.category = '' AND $__timeFilter(h.as_of) ORDER BY h.as_of"""
    heads = """
      SELECT leader_name AS "Họ tên / Name", role AS "Vai trò / Role", coalesce(indicator,
        '') AS "Phụ trách / In charge of",
        start_date AS "Từ / From",
        end_date AS "Đến / To" FROM tenures WHERE unit_code = '$unit' AND start_date IS NOT NULL
      ORDER BY start_date"""
    alerts = """
      SELECT severity AS "Mức độ / Severity", rule AS "Quy tắc / Rule", period AS "Kỳ / Period",
        summary AS "Nội dung / Finding",
        coalesce(responsible_leader_name, 'khuyết / vacant') AS "Người đứng đầu / Head",
        coalesce(escalated_to, committee) AS "Ủy ban Kiểm tra / Committee", raised_at AS "Từ / Since"
      FROM alerts WHERE unit_code = '$unit' AND status = 'open' ORDER BY severity, raised_at"""
    reports = """
      SELECT as_of AS "Kỳ / As of", category AS "Nguồn / Category", round(amount / 1e9, 3) AS "Số tiền,
        tỷ đồng / bn VND",
        amount_kind AS "Loại / Kind", known_on AS "Ngày biết / Known on",
        coalesce(correction_reason, '') AS "Lý do điều chỉnh / Correction",
        CASE WHEN row_number() OVER (PARTITION BY category, project_code, as_of ORDER BY position DESC) > 1
          THEN 'bị thay thế / superseded' ELSE '' END AS "Ghi chú / Note"
      FROM figures WHERE unit_code = '$unit' AND indicator = '$indicator' AND plan_year = $plan_year
      ORDER BY as_of DESC, position DESC"""
    bands = """
      SELECT day::timestamptz AS time, coalesce(head.leader_name, 'khuyết / vacant') AS "Người đứng đầu / Head"
      FROM generate_series(make_date($plan_year, 1, 1), make_date($plan_year + 1, 1, 31), interval '1 day') AS day
      LEFT JOIN LATERAL (SELECT t.leader_name FROM tenures t WHERE t.unit_code = '$unit'
        AND t.role IN ('head', 'acting_head') AND t.start_date <= day AND (t.end_date IS NULL OR t.end_date >= day)
        ORDER BY t.start_date DESC LIMIT 1) head ON true
      WHERE $__timeFilter(day) ORDER BY day"""
    unit = _query_variable(
        "unit", "Đơn vị / Unit", "SELECT name AS __text, unit_code AS __value FROM units ORDER BY name"
    )
    return (
        dashboard.Dashboard("PIM — Đơn vị / Unit drill-down")
        .uid("pim-unit")
        .tags(["pim"])
        .time("now-2y", "now")
        .with_variable(unit)
        .with_variable(PLAN_YEAR)
        .with_variable(INDICATOR)
        .with_panel(
            timeseries.Panel()
            .title("Lũy kế so với tiến độ / Cumulative rate against the pace milestones")
            .datasource(DATASOURCE)
            .with_target(Sql(curve, "time_series"))
            .unit("percent")
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
        .with_panel(_table("Người đứng đầu qua các thời kỳ / Heads over time", heads, width=12, height=8))
        .with_panel(_table("Cảnh báo đang mở / Open alerts", alerts, width=12, height=8))
        .with_panel(_table("Lịch sử báo cáo / Report history (corrections visible)", reports, height=12))
    )


def leader_scorecard() -> dashboard.Dashboard:
    stints = """
      SELECT u.name AS "Đơn vị / Unit", a.indicator AS "Chỉ tiêu / Indicator", a.plan_year AS "Năm / Year",
        a.role AS "Vai trò / Role", a.stint_start AS "Từ / From", a.stint_end AS "Đến / To",
        round(a.rate_at_start * 100, 2) AS "Tỷ lệ đầu kỳ % / Rate at start %",
        round(a.rate_at_end * 100, 2) AS "Tỷ lệ cuối kỳ % / Rate at end %",
        round(a.gap_arisen * 100, 2) AS "Chênh lệch phát sinh, điểm % / Gap arisen, pp",
        a.months_behind AS "Số tháng chậm / Months behind"
      FROM leader_accountability a JOIN units u USING (unit_code) WHERE a.leader_id = '$leader'
      ORDER BY a.plan_year DESC, a.stint_start"""
    months = """
      SELECT coalesce(sum(months_behind), 0) AS "Số tháng chậm / Months behind" FROM leader_accountability
      WHERE leader_id = '$leader'"""
    alerts = """
      SELECT a.status AS "Tình trạng / Status", a.severity AS "Mức độ / Severity", u.name AS "Đơn vị / Unit",
        a.rule AS "Quy tắc / Rule", a.period AS "Kỳ / Period", a.summary AS "Nội dung / Finding",
        coalesce(a.resolution, '') AS "Kết luận / Conclusion"
      FROM alerts a JOIN units u USING (unit_code) WHERE a.responsible_leader_id = '$leader'
      ORDER BY a.status, a.raised_at DESC"""
    votes = """
      SELECT vote_date AS "Ngày / Date", voters AS "Số phiếu / Voters", high AS "Tín nhiệm cao / High",
        confidence AS "Tín nhiệm / Confidence", low AS "Tín nhiệm thấp / Low", band AS "Mức / Band"
      FROM confidence_votes WHERE leader_id = '$leader' ORDER BY vote_date DESC"""
    # What the projector knew at the month end chosen: its snapshot, computed by the same code as
    # `pim progress --as-known-on` (nothing is summed here).
    known = """
      SELECT u.name AS "Đơn vị / Unit", k.indicator AS "Chỉ tiêu / Indicator", k.plan_year AS "Năm / Year",
        k.as_of AS "Số liệu đến / As of", round(k.actual_ytd / 1e9, 1) AS "Thực hiện, tỷ đồng / Actual, bn VND",
        round(k.target / 1e9, 1) AS "Kế hoạch, tỷ đồng / Target, bn VND", round(k.rate * 100, 2) AS "Tỷ lệ % / Rate %",
        k.status AS "Trạng thái / Status"
      FROM known_on_progress k JOIN units u USING (unit_code)
      WHERE k.known_on = '$known_on' AND k.unit_code IN (SELECT unit_code FROM tenures WHERE leader_id = '$leader')
      ORDER BY k.plan_year DESC, u.name, k.indicator"""
    leader = _query_variable(
        "leader",
        "Lãnh đạo / Leader",
        "SELECT DISTINCT leader_name || ' (' || leader_id || ')' AS __text, leader_id AS __value FROM tenures"
        " WHERE leader_id IS NOT NULL ORDER BY 1",
    )
    known_on = _query_variable(
        "known_on", "Theo số liệu đã biết đến ngày / As known on",
        "SELECT DISTINCT known_on::text FROM known_on_progress ORDER BY 1 DESC",
    )  # fmt: skip
    return (
        dashboard.Dashboard("PIM — Lãnh đạo / Leader scorecard")
        .uid("pim-leader")
        .tags(["pim"])
        .time("now-2y", "now")
        .with_variable(leader)
        .with_variable(known_on)
        .with_panel(_stat("Tổng số tháng chậm tiến độ / Months behind pace", months))
        .with_panel(
            _table("Chỉ tiêu trong nhiệm kỳ / Indicators answered for, tenure only", stints, width=18, height=8)
        )
        .with_panel(_table("Cảnh báo / Alerts", alerts, width=12))
        .with_panel(_table("Phiếu tín nhiệm / Confidence votes", votes, width=12))
        .with_panel(_table("Theo số liệu đã biết đến ngày / As known on $known_on", known))
    )


def alerts_board() -> dashboard.Dashboard:
    open_alerts = """
      SELECT a.severity AS "Mức độ / Severity", (current_date - a.raised_at::date) AS "Số ngày / Age, days",
        u.name AS "Đơn vị / Unit", a.rule AS "Quy tắc / Rule", a.period AS "Kỳ / Period",
        a.summary AS "Nội dung / Finding",
        coalesce(a.responsible_leader_name, 'khuyết / vacant') AS "Người đứng đầu / Head",
        a.committee AS "Ủy ban Kiểm tra / Committee", coalesce(a.escalated_to, '') AS "Chuyển lên / Escalated to",
        coalesce(a.acknowledged_by, '') AS "Tiếp nhận / Acknowledged by",
        a.silenced_until AS "Tạm dừng đến / Silenced until"
      FROM alerts a JOIN units u USING (unit_code)
      WHERE a.status = 'open' AND (a.committee = '$committee' OR a.escalated_to = '$committee')
      ORDER BY a.severity, a.raised_at"""
    counts = """
      SELECT severity AS "Mức độ / Severity", count(*) AS "Đang mở / Open" FROM alerts
      WHERE status = 'open' AND (committee = '$committee' OR escalated_to = '$committee') GROUP BY 1 ORDER BY 1"""
    resolved = """
      SELECT a.resolved_at AS "Ngày xử lý / Resolved", u.name AS "Đơn vị / Unit", a.rule AS "Quy tắc / Rule",
        a.resolved_by AS "Người xử lý / By", coalesce(a.resolution, '') AS "Kết luận / Conclusion"
      FROM alerts a JOIN units u USING (unit_code)
      WHERE a.status = 'resolved' AND a.resolved_at >= date_trunc('month', now())
        AND (a.committee = '$committee' OR a.escalated_to = '$committee') ORDER BY a.resolved_at DESC"""
    committee = _query_variable(
        "committee",
        "Ủy ban Kiểm tra / Committee",
        "SELECT committee FROM units UNION SELECT escalated_to FROM alerts WHERE escalated_to IS NOT NULL ORDER BY 1",
    )
    return (
        dashboard.Dashboard("PIM — Cảnh báo / Alerts board")
        .uid("pim-alerts")
        .tags(["pim"])
        .time("now-30d", "now")
        .with_variable(committee)
        .with_panel(_table("Đang mở theo mức độ / Open by severity", counts, width=6, height=6))
        .with_panel(_table("Cảnh báo đang mở / Open alerts", open_alerts, width=18, height=14))
        .with_panel(_table("Đã xử lý trong tháng / Resolved this month", resolved))
    )


DASHBOARDS = {
    "overview": overview,
    "unit": unit_drilldown,
    "leader": leader_scorecard,
    "alerts": alerts_board,
}


def dashboard_json(name: str) -> dict[str, Any]:
    built = DASHBOARDS[name]().build()
    data: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(built))
    return data


def write_dashboards(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DASHBOARDS:
        path = folder / f"pim-{name}.json"
        path.write_text(json.dumps(dashboard_json(name), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
