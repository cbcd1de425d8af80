"""The operators' dashboard: PIM's own health, from Prometheus (what the services export, what
infra/prometheus/rules.yml alerts on), written beside the boards' dashboards by `pim grafana dashboards`.
It reads no read model: the boards' dashboards are for the figures, this one for the machinery."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.models.dashboard import DashboardLinkType, DataSourceRef

PROMETHEUS_UID = "pim-prometheus"
PROMETHEUS = DataSourceRef(type_val="prometheus", uid=PROMETHEUS_UID)

# (title, unit, [(PromQL, legend)]): each panel the same few series an operator reads in an incident.
SERIES: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("Relay chậm so với kho / Relay behind the store (events)", "none",
     [("max(pim_store_head_position) - max(pim_relay_published_position)", "events")]),
    ("Projector chậm so với relay / Projector behind the relay (events)", "none",
     [("max(pim_relay_published_position) - max(pim_projector_position)", "events")]),
    ("Sự kiện mỗi giây / Events per second", "ops",
     [("sum(rate(pim_events_relayed_total[5m]))", "relayed"), ("sum(rate(pim_events_projected_total[5m]))",
                                                                "projected")]),
    ("Yêu cầu mỗi giây / Requests per second", "reqps",
     [("sum by (service, status) (rate(pim_http_requests_total[5m]))", "{{service}} {{status}}")]),
    ("Thời gian trả lời p99 / Answer time p99", "s",
     [("histogram_quantile(0.99, sum by (service, le) (rate(pim_http_request_seconds_bucket[5m])))",
       "{{service}}")]),
    ("Thông báo chờ gửi / Notifications waiting", "none",
     [("max by (channel) (pim_alert_outbox_waiting)", "{{channel}} waiting"),
      ("max by (channel) (pim_alert_outbox_dead_lettered)", "{{channel}} given up")]),
    ("Dịch vụ chờ PostgreSQL/Kafka / Services waiting on a dependency", "none",
     [("max by (service) (pim_service_waiting)", "{{service}}")]),
    ("Đánh giá cảnh báo p99 / Alert evaluation p99", "s",
     [("histogram_quantile(0.99, sum by (le) (rate(pim_alert_evaluation_seconds_bucket[15m])))", "p99")]),
    ("Thời gian nhập tệp theo bước / File imports' time by phase (seconds in 15 min)", "s",
     [("sum by (phase) (increase(pim_ingest_import_phase_seconds_sum[15m]))", "{{phase}}")]),
    ("Báo cáo mỗi giao dịch / Single reports per transaction", "none",
     [("sum(rate(pim_ingest_reports_per_transaction_sum[5m]))"
       " / sum(rate(pim_ingest_reports_per_transaction_count[5m]))", "reports")]),
]  # fmt: skip
STATS: list[tuple[str, str, str]] = [
    ("Dịch vụ trả lời / Services answering", "none", 'sum(up{job="pim"})'),
    ("Từ báo cáo cuối / Since the last report", "s", "time() - max(pim_last_report_stored_timestamp_seconds)"),
    ("Từ lần tính lại cuối / Since the read models were recomputed", "s",
     "time() - max(pim_projector_recomputed_timestamp_seconds)"),
]  # fmt: skip


def _query(expr: str, legend: str = "") -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend).datasource(PROMETHEUS)


def operations() -> dashboard.Dashboard:
    board = (
        dashboard.Dashboard("PIM — vận hành / operations")
        .uid("pim-operations")
        .tags(["pim", "operations"])
        .timezone("Asia/Ho_Chi_Minh")
        .time("now-6h", "now")
        .refresh("30s")
        .link(
            dashboard.DashboardLink("Bảng PIM / PIM dashboards")
            .type(DashboardLinkType.DASHBOARDS)
            .tags(["pim"])
            .as_dropdown(True)
        )
    )
    for title, unit, expr in STATS:
        board = board.with_panel(stat.Panel().title(title).datasource(PROMETHEUS).with_target(_query(expr)).unit(unit)
                                 .span(8).height(4))  # fmt: skip
    for title, unit, queries in SERIES:
        panel = timeseries.Panel().title(title).datasource(PROMETHEUS).unit(unit).span(12).height(8)
        for expr, legend in queries:
            panel = panel.with_target(_query(expr, legend))
        board = board.with_panel(panel)
    return board


def expressions() -> list[str]:
    """Every PromQL expression the dashboard runs (checked by promtool in the tests)."""
    return [expr for _, _, expr in STATS] + [expr for _, _, queries in SERIES for expr, _ in queries]
