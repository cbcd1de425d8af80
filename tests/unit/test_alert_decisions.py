"""The alerts service's decisions with facts built in memory (no database, no broker): what one evaluation
records for the findings and the unit's open alerts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services.alerts.config import Routing
from services.alerts.decisions import CommitteeResolution, CurrentAlert, alert_events
from services.alerts.rules import Finding, IndicatorYear, ReportedTotal
from services.alerts.unit_year_facts import UnitInfo, UnitYearFacts
from shared.events import AlertEscalated, AlertRaised, AlertRefreshed, AlertResolved, Indicator, Role
from shared.responsibility import Tenure

TODAY = dt.date(2025, 11, 10)
DA_LAT = UnitInfo("da-lat", "Thành phố Đà Lạt", "Ủy ban Kiểm tra Thành ủy Đà Lạt", "Ủy ban Kiểm tra Tỉnh ủy Lâm Đồng")
HEADS = [
    Tenure("L1", "Nguyễn Văn Ánh", Role.HEAD, None, dt.date(2021, 6, 1), dt.date(2025, 5, 31)),
    Tenure("L2", "Trần Thị Bình", Role.HEAD, None, dt.date(2025, 6, 1), None),
    Tenure("L3", "Lê Hoàng Phúc", Role.DEPUTY_IN_CHARGE, Indicator.DISBURSEMENT.value, dt.date(2024, 1, 1), None),
]
ROUTING = Routing()


def _facts(tenures: list[Tenure] = HEADS) -> UnitYearFacts:
    return UnitYearFacts(unit=DA_LAT, plan_year=2025, indicators=[], votes=[], tenures=tenures, version=1)


def _behind(on: dt.date, severity: str = "warning", escalate: bool = False) -> Finding:
    return Finding(
        rule="below_pace", indicator=Indicator.DISBURSEMENT, plan_year=2025, period="2025", severity=severity,  # type: ignore[arg-type]
        summary=f"behind pace on {on}", evidence={"as_of": on.isoformat(), "consecutive_reports_behind": "3"},
        on=on, escalate=escalate,
    )  # fmt: skip


def _current(finding: Finding, leader_id: str | None = "L2", escalated_to: str | None = None) -> CurrentAlert:
    evidence = {**finding.evidence, "deputy_in_charge": "Lê Hoàng Phúc"}
    return CurrentAlert(
        finding.fingerprint("da-lat"), finding.rule, finding.severity, escalated_to, finding.summary, evidence,
        leader_id,
    )  # fmt: skip


def test_a_new_finding_raises_an_alert_naming_the_head_then_in_post_and_the_deputy() -> None:
    finding = _behind(dt.date(2025, 4, 30))
    [(event, key)] = alert_events(_facts(), [finding], {}, ROUTING, TODAY)
    assert isinstance(event, AlertRaised) and key == "da-lat/public_investment_disbursement/below_pace/2025"
    assert (event.responsible_leader_id, event.responsible_leader_name) == ("L1", "Nguyễn Văn Ánh")
    assert event.evidence["deputy_in_charge"] == "Lê Hoàng Phúc"
    assert event.committee == "Ủy ban Kiểm tra Thành ủy Đà Lạt"


def test_a_persisting_finding_that_did_not_change_records_nothing() -> None:
    finding = _behind(dt.date(2025, 9, 30))
    assert alert_events(_facts(), [finding], {finding.fingerprint("da-lat"): _current(finding)}, ROUTING, TODAY) == []


def test_a_persisting_finding_that_worsened_records_a_refresh_with_the_previous_severity() -> None:
    before = _behind(dt.date(2025, 9, 30))
    now = _behind(dt.date(2025, 10, 31), severity="critical")
    [(event, _)] = alert_events(_facts(), [now], {before.fingerprint("da-lat"): _current(before)}, ROUTING, TODAY)
    assert isinstance(event, AlertRefreshed)
    assert (event.severity, event.previous_severity, event.summary) == ("critical", "warning", now.summary)


def test_a_head_who_changed_is_a_refresh_though_the_severity_is_the_same() -> None:
    finding = _behind(dt.date(2025, 9, 30))
    current = {finding.fingerprint("da-lat"): _current(finding, leader_id="L1")}
    [(event, _)] = alert_events(_facts(), [finding], current, ROUTING, TODAY)
    assert isinstance(event, AlertRefreshed)
    assert (event.responsible_leader_id, event.previous_severity) == ("L2", None)


def test_escalation_goes_one_level_up_once() -> None:
    finding = _behind(dt.date(2025, 9, 30), escalate=True)
    recorded = [event for event, _ in alert_events(_facts(), [finding], {}, ROUTING, TODAY)]
    assert [type(event) for event in recorded] == [AlertRaised, AlertEscalated]
    escalated = recorded[1]
    assert isinstance(escalated, AlertEscalated)
    assert escalated.to_committee == "Ủy ban Kiểm tra Tỉnh ủy Lâm Đồng"
    already = {finding.fingerprint("da-lat"): _current(finding, escalated_to="Ủy ban Kiểm tra Tỉnh ủy Lâm Đồng")}
    assert alert_events(_facts(), [finding], already, ROUTING, TODAY) == []


def test_an_open_alert_whose_finding_is_gone_is_resolved_as_of_the_report_that_cleared_it() -> None:
    """Resolved as of the data date, as it was raised: the latest report's, not the evaluation's clock (a
    history replayed today resolves its alerts on their months, not all today)."""
    finding = _behind(dt.date(2025, 9, 30))
    year = IndicatorYear(
        "da-lat", Indicator.DISBURSEMENT, 2025, Decimal(100),
        (ReportedTotal(dt.date(2025, 9, 30), Decimal(40), Decimal("0.4"), Decimal("0.6")),
         ReportedTotal(dt.date(2025, 10, 31), Decimal(70), Decimal("0.7"), Decimal("0.7"))),
    )  # fmt: skip
    facts = UnitYearFacts(unit=DA_LAT, plan_year=2025, indicators=[year], votes=[], tenures=HEADS, version=2)
    [(event, _)] = alert_events(facts, [], {finding.fingerprint("da-lat"): _current(finding)}, ROUTING, TODAY)
    assert isinstance(event, AlertResolved) and event.as_of == dt.date(2025, 10, 31)


def test_an_open_alert_whose_finding_is_gone_is_resolved_by_the_system_as_of_today_without_reports() -> None:
    finding = _behind(dt.date(2025, 9, 30))
    [(event, key)] = alert_events(_facts(), [], {finding.fingerprint("da-lat"): _current(finding)}, ROUTING, TODAY)
    assert isinstance(event, AlertResolved) and key == finding.fingerprint("da-lat")
    assert (event.as_of, event.resolved_by) == (TODAY, "system")


def test_a_vacant_post_raises_an_alert_answered_by_nobody() -> None:
    [(event, _)] = alert_events(_facts(tenures=[]), [_behind(dt.date(2025, 4, 30))], {}, ROUTING, TODAY)
    assert isinstance(event, AlertRaised)
    assert (event.responsible_leader_id, event.responsible_leader_name) == (None, None)


def test_a_committees_resolution_holds_while_the_finding_is_no_worse() -> None:
    finding = _behind(dt.date(2025, 9, 30))
    held = {finding.fingerprint("da-lat"): CommitteeResolution("warning", "Đã kiểm điểm, giao khắc phục")}
    assert alert_events(_facts(), [finding], {}, ROUTING, TODAY, held) == []
    escalating = _behind(dt.date(2025, 9, 30), escalate=True)  # nor is it escalated behind the committee's back
    assert alert_events(_facts(), [escalating], {}, ROUTING, TODAY, held) == []


def test_a_finding_worse_than_when_resolved_raises_an_alert_that_says_it_reopens_the_resolution() -> None:
    worse = _behind(dt.date(2025, 10, 31), severity="critical")
    held = {worse.fingerprint("da-lat"): CommitteeResolution("warning", "Đã kiểm điểm, giao khắc phục")}
    [(event, _)] = alert_events(_facts(), [worse], {}, ROUTING, TODAY, held)
    assert isinstance(event, AlertRaised)
    assert (event.severity, event.reopens) == ("critical", "Đã kiểm điểm, giao khắc phục")
