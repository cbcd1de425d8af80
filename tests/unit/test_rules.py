"""Every alert rule fires on purpose-built data, and stays quiet just on the other side of its threshold."""

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from services.alerts.config import AlertConfig, RulesFileError, parse_alert_config
from services.alerts.lifecycle import OpenAlert, decide
from services.alerts.rules import (
    IndicatorYear,
    ReportedTotal,
    ReportingMonth,
    Vote,
    confidence_votes,
    evaluate,
    fingerprint,
    pefa_band,
)
from services.alerts.seasonal import Trajectory, project_final_rate
from shared.events import Indicator
from shared.pace import DEFAULT_TOLERANCE, assess

CONFIG = AlertConfig()
D = Decimal
DISB = Indicator.DISBURSEMENT
REV = Indicator.BUDGET_REVENUE


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def year_of(
    rates: list[str],
    paces: list[str] | None = None,
    indicator: Indicator = DISB,
    peer: str | None = None,
    standing: str | None = None,
    target: str = "1000",
    arrivals: dict[tuple[int, int], dt.date] | None = None,
    past: tuple[Trajectory, ...] = (),
    first_month: int = 1,
) -> IndicatorYear:
    """Monthly reports from `first_month` with the given rates (of a target of 1000) and paces."""
    paces = paces or ["0"] * len(rates)
    points = tuple(
        ReportedTotal(
            month_end(2025, first_month + i),
            D(rate) * D(target),
            D(rate),
            D(pace),
            None if peer is None else D(peer),
            standing,
            # the status the projector gives these figures
            assess(D(target), D(rate) * D(target), D(pace), DEFAULT_TOLERANCE).status.value,
        )
        for i, (rate, pace) in enumerate(zip(rates, paces, strict=True))
    )
    on_time = {(p.as_of.year, p.as_of.month): p.as_of + dt.timedelta(days=2) for p in points}
    arrived = on_time if arrivals is None else arrivals
    # The months the projector says the unit owes, each due 5 days after it ends (the shipped default).
    months = [month_end(2025, m) for m in range(1, 13)] + ([month_end(2026, 1)] if indicator is DISB else [])
    reporting = tuple(
        ReportingMonth(end, end + dt.timedelta(days=5), arrived.get((end.year, end.month))) for end in months
    )
    return IndicatorYear("lam-dong", indicator, 2025, D(target), points, reporting, past, D("0.95"))


def rules_found(year: IndicatorYear, today: dt.date, config: AlertConfig = CONFIG) -> dict[str, str]:
    return {f.rule + ("" if f.period == "2025" else f"@{f.period}"): f.severity for f in evaluate(year, config, today)}


TODAY = dt.date(2025, 4, 3)  # before March's deadline: no missing-report noise in the pace tests
MAY = dt.date(2025, 5, 3)


def test_below_pace_fires_past_the_tolerance_and_is_critical_under_half_the_pace() -> None:
    assert rules_found(year_of(["0.14"], ["0.20"]), TODAY).get("below_pace") == "warning"
    assert rules_found(year_of(["0.09"], ["0.20"]), TODAY).get("below_pace") == "critical"


def test_below_pace_follows_the_projectors_status_not_a_tolerance_of_its_own() -> None:
    behind = year_of(["0.14"], ["0.20"])
    point = behind.points[0]
    on_track = IndicatorYear("x", DISB, 2025, D(1000), (ReportedTotal(point.as_of, point.actual_ytd, point.rate,
                             point.expected_pace, status="on_track"),), behind.reporting)  # fmt: skip
    assert "below_pace" not in rules_found(on_track, TODAY)  # the projector's tolerance let it pass


def test_a_rules_file_with_the_old_tolerance_is_refused_naming_where_it_went() -> None:
    with pytest.raises(RulesFileError, match="tolerance_pp is no longer read here"):
        parse_alert_config("rules:\n  below_pace:\n    tolerance_pp: 5\n", "rules.yaml")


def test_below_pace_stays_quiet_within_the_tolerance_and_without_a_rate() -> None:
    assert "below_pace" not in rules_found(year_of(["0.15"], ["0.20"]), TODAY)
    no_target = IndicatorYear("x", DISB, 2025, None, (ReportedTotal(dt.date(2025, 3, 31), D(5), None, D("0.2")),))
    assert evaluate(no_target, CONFIG, TODAY) == []


def test_behind_on_consecutive_reports_asks_for_escalation_only_after_n() -> None:
    (two,) = [
        f
        for f in evaluate(year_of(["0.5", "0.1", "0.1"], ["0.1", "0.2", "0.3"]), CONFIG, TODAY)
        if f.rule == "below_pace"
    ]
    assert two.rule == "below_pace" and not two.escalate and two.evidence["consecutive_reports_behind"] == "2"
    three = [f for f in evaluate(year_of(["0.1", "0.1", "0.1"], ["0.2", "0.2", "0.3"]), CONFIG, TODAY)]
    assert [f.escalate for f in three if f.rule == "below_pace"] == [True]


def test_below_peer_average() -> None:
    below = year_of(["0.29"], ["0.2"], peer="0.30", standing="below")
    assert rules_found(below, TODAY).get("below_peer_average") == "warning"
    assert "below_peer_average" not in rules_found(
        year_of(["0.30"], ["0.2"], peer="0.30", standing="at_or_above"), TODAY
    )


def test_below_peer_average_follows_the_projectors_standing() -> None:
    # Rates are shown rounded; the projector compares the exact fractions: a unit it finds at or above the
    # average is not flagged, however its rounded rate reads, nor one it did not assess.
    assert "below_peer_average" not in rules_found(
        year_of(["0.29"], ["0.2"], peer="0.30", standing="at_or_above"), TODAY
    )
    assert "below_peer_average" not in rules_found(
        year_of(["0.29"], ["0.2"], peer="0.30", standing="not_assessed"), TODAY
    )


def test_below_sixty_percent_on_the_september_report_only_for_disbursement() -> None:
    months = ["0.1"] * 8
    low, ok = year_of([*months, "0.59"], ["0"] * 9), year_of([*months, "0.60"], ["0"] * 9)
    today = dt.date(2025, 10, 2)
    assert rules_found(low, today).get("below_share_at_sep30") == "critical"
    assert "below_share_at_sep30" not in rules_found(ok, today)
    revenue = year_of([*months, "0.59"], ["0"] * 9, indicator=REV)
    assert "below_share_at_sep30" not in rules_found(revenue, today)


def test_year_end_shortfall_once_the_last_report_of_the_window_is_due_and_in_year_rules_stop() -> None:
    short = year_of(["0.5"] * 12 + ["0.84"], ["0.95"] * 13, first_month=1)
    assert short.points[-1].as_of == dt.date(2026, 1, 31)
    before = rules_found(short, dt.date(2026, 2, 5))  # the January report's deadline
    assert "year_end_shortfall" not in before and before["below_pace"] == "warning"
    after = rules_found(short, dt.date(2026, 2, 6))
    assert after.get("year_end_shortfall") == "critical" and "below_pace" not in after
    assert "year_end_shortfall" not in rules_found(year_of(["0.5"] * 12 + ["0.95"]), dt.date(2026, 2, 6))


def test_missing_report_after_the_deadline_and_late_report_found_too() -> None:
    year = year_of(["0.1", "0.2"])  # January and February reported on time
    assert "missing_report@2025-03" not in rules_found(year, dt.date(2025, 4, 5))  # deadline day
    found = rules_found(year, dt.date(2025, 4, 6))
    assert found.get("missing_report@2025-03") == "warning" and "missing_report@2025-02" not in found
    late = year_of(["0.1", "0.2"], arrivals={(2025, 1): dt.date(2025, 2, 3), (2025, 2): dt.date(2025, 3, 9)})
    (finding,) = [f for f in evaluate(late, CONFIG, dt.date(2025, 3, 20)) if f.rule == "missing_report"]
    assert finding.period == "2025-02" and finding.evidence["days_late"] == "4"


def test_a_report_known_only_after_the_evaluation_date_is_missing_on_that_date() -> None:
    year = year_of(["0.1"], arrivals={(2025, 1): dt.date(2025, 3, 1)})
    assert rules_found(year, dt.date(2025, 2, 10)).get("missing_report@2025-01") == "warning"


def test_back_loading_past_the_share_after_september() -> None:
    rates = ["0.05"] * 8 + ["0.30", "0.4", "0.5", "0.61"]  # 0.31 of 0.61 after 30 September: 50.8 %
    assert rules_found(year_of(rates), dt.date(2026, 1, 3)).get("back_loading") == "warning"
    even = ["0.05"] * 8 + ["0.40", "0.5", "0.55", "0.66"]  # 0.26 / 0.66 = 39.4 %
    assert "back_loading" not in rules_found(year_of(even), dt.date(2026, 1, 3))


def test_early_warning_from_the_pace_curve_without_past_years() -> None:
    # at 30 April the pace is 0.266 of a final 0.95: a rate of 0.20 projects to 0.714
    found = evaluate(year_of(["0.05", "0.1", "0.15", "0.20"], ["0.1", "0.15", "0.2", "0.266"]), CONFIG, MAY)
    (early,) = [f for f in found if f.rule == "early_warning"]
    assert early.evidence["projected_rate"] == "0.7143" and early.evidence["basis"].startswith("pace curve")
    quiet = year_of(["0.05", "0.1", "0.15", "0.27"], ["0.1", "0.15", "0.2", "0.266"])
    assert "early_warning" not in rules_found(quiet, MAY)


def test_early_warning_uses_the_seasonal_curve_of_past_years() -> None:
    # last year the unit had 20 % of its final total by 30 April and ended the year at 100 %
    last_year = Trajectory(2024, ((dt.date(2024, 4, 30), D(200)), (dt.date(2024, 12, 31), D(1000))))
    projection = project_final_rate(dt.date(2025, 4, 30), D("0.19"), 2025, (last_year,), D("0.266"), D("0.95"))
    assert projection is not None and projection.rate == D("0.95") and projection.seasonal_share == D("0.2")
    # the same rate that the pace curve condemns is on course by the unit's own season
    year = year_of(["0.05", "0.1", "0.15", "0.19"], ["0.1", "0.15", "0.2", "0.266"], past=(last_year,))
    assert "early_warning" not in rules_found(year, MAY)


def test_early_warning_waits_for_enough_reports() -> None:
    assert "early_warning" not in rules_found(year_of(["0.01", "0.02"], ["0.2", "0.25"]), TODAY)


@pytest.mark.parametrize(
    ("outturn", "band"),
    [
        ("0.97", "A"),
        ("1.06", "A"),
        ("0.96", "B"),
        ("1.12", "B"),
        ("0.92", "C"),
        ("1.16", "C"),
        ("0.91", "D"),
        ("1.17", "D"),
    ],
)
def test_pefa_bands_at_their_edges(outturn: str, band: str) -> None:
    assert pefa_band(D(outturn)) == band


def test_revenue_outturn_flags_bands_c_and_d_on_the_december_report() -> None:
    today = dt.date(2026, 1, 3)
    assert rules_found(year_of(["0.08"] * 11 + ["0.93"], indicator=REV), today).get("revenue_outturn") == "warning"
    assert rules_found(year_of(["0.08"] * 11 + ["1.20"], indicator=REV), today).get("revenue_outturn") == "critical"
    assert "revenue_outturn" not in rules_found(year_of(["0.08"] * 11 + ["1.00"], indicator=REV), today)


def test_confidence_vote_review_and_dismissal_bands() -> None:
    votes = [
        Vote("L1", "Lê Đức Quang", dt.date(2025, 11, 1), 30, 16, "review"),
        Vote("L2", "Ngô Văn Long", dt.date(2025, 11, 1), 30, 20, "dismissal"),
        Vote("L3", "Trần Thị Hà", dt.date(2025, 11, 1), 30, 15, "none"),
    ]
    found = {f.evidence["leader_id"]: f for f in confidence_votes(votes, CONFIG)}
    assert set(found) == {"L1", "L2"}
    assert found["L1"].severity == "warning" and found["L2"].severity == "critical"
    assert found["L2"].fingerprint("lam-dong") == "lam-dong/-/confidence_vote/2025/L2@2025-11-01"
    assert "Ngô Văn Long" in found["L2"].summary


def test_a_disabled_rule_stays_quiet() -> None:
    config = parse_alert_config("rules:\n  below_pace: {enabled: false}\n")
    assert "below_pace" not in rules_found(year_of(["0.09"], ["0.20"]), TODAY, config)


def test_rules_file_errors_name_the_setting_and_the_reason() -> None:
    with pytest.raises(RulesFileError) as error:
        parse_alert_config("rules:\n  back_loading: {last_quarter_share: 0}\n  below_pace: {severity: loud}\n")
    message = str(error.value)
    assert "rules.back_loading.last_quarter_share" in message and "greater than 0" in message
    assert "rules.below_pace.severity" in message
    with pytest.raises(RulesFileError, match="unknown_rule"):
        parse_alert_config("rules:\n  unknown_rule: {}\n")
    with pytest.raises(RulesFileError, match="not valid YAML"):
        parse_alert_config("rules: [")


def test_the_shipped_rules_file_is_valid_and_equals_the_built_in_defaults() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "infra" / "alerts" / "rules.yaml").read_text(encoding="utf-8")
    assert parse_alert_config(text) == AlertConfig()


def test_lifecycle_raises_once_refreshes_escalates_once_and_resolves_what_is_gone() -> None:
    behind = evaluate(year_of(["0.1", "0.1", "0.1"], ["0.2", "0.2", "0.3"]), CONFIG, TODAY)
    pace = next(f for f in behind if f.rule == "below_pace")
    key = fingerprint("lam-dong", DISB, "below_pace", 2025, "2025")
    first = decide("lam-dong", [pace], {})
    assert first.raise_ == [pace] and first.escalate == [pace] and not first.resolve
    escalated = {key: OpenAlert(key, "below_pace", "critical", "Ủy ban Kiểm tra Trung ương")}
    again = decide("lam-dong", [pace], escalated)
    assert again.raise_ == [] and again.refresh == [pace] and again.escalate == []
    stale = OpenAlert("lam-dong/-/confidence_vote/2025/L1@2025-11-01", "confidence_vote", "warning", None)
    gone = decide("lam-dong", [], {key: escalated[key], stale.fingerprint: stale})
    assert [a.fingerprint for a in gone.resolve] == sorted([key, stale.fingerprint])


def test_january_of_the_disbursement_window_and_of_the_next_plan_year_are_two_alerts() -> None:
    """Regression: the two Januaries shared a fingerprint, so one plan year's alert took over the other's."""
    window = year_of(["0.1"] * 12, first_month=1)  # 2025 reported through December, not January 2026
    january = month_end(2026, 1)
    next_year = IndicatorYear(
        "lam-dong", DISB, 2026, D(1000), (), (ReportingMonth(january, january + dt.timedelta(days=5), None),)
    )
    today = dt.date(2026, 2, 10)
    (closing,) = [f for f in evaluate(window, CONFIG, today) if f.rule == "missing_report"]
    (opening,) = [f for f in evaluate(next_year, CONFIG, today) if f.rule == "missing_report"]
    assert closing.period == opening.period == "2026-01"
    assert closing.fingerprint("lam-dong") == f"lam-dong/{DISB}/missing_report/2025/2026-01"
    assert opening.fingerprint("lam-dong") != closing.fingerprint("lam-dong")


def test_a_summary_reads_as_people_write_it_and_evidence_is_never_in_exponent_notation() -> None:
    year = year_of(["0.05", "0.06"], ["0.3", "0.35"], target="2.34780E+13")  # an exact decimal in exponent form
    [finding] = [f for f in evaluate(year, CONFIG, TODAY) if f.rule == "below_pace"]
    assert finding.evidence["target"] == "23478000000000"
    assert "E+" not in "".join(finding.evidence.values())
    vietnamese, english = finding.summary.split(" / ", 1)
    assert vietnamese.startswith("Đạt 6,0 % so với tiến độ 35,0 %") and "(1.409/23.478 tỷ đồng)" in vietnamese
    assert "against a pace of 35,0 %" in english


def test_the_due_day_is_set_once_for_the_alert_and_the_reporting_indicator() -> None:
    with pytest.raises(RulesFileError, match="report_due_days"):
        parse_alert_config("rules:\n  missing_report: {deadline_days: 10}\n")


def test_a_unit_that_owes_no_month_has_no_missing_report() -> None:
    """The projector decides which months a unit owes (a plan in force, not merged away): none, no alert."""
    year = replace(year_of(["0.1"]), reporting=())
    assert not [k for k in rules_found(year, dt.date(2025, 6, 1)) if k.startswith("missing_report")]


def test_a_unit_that_owes_no_more_months_is_not_closed_before_its_window_ends() -> None:
    """A district dissolved on 1 July owes June last: its year still closes when the window's last report is
    due, so no year-end finding in August (regression: the last month owed closed the year)."""
    year = year_of(["0.1"] * 6)
    dissolved = replace(year, reporting=tuple(m for m in year.reporting if m.period_end.month <= 6 and
                                             m.period_end.year == 2025))  # fmt: skip
    assert dissolved.closes_on() == year.closes_on() == dt.date(2026, 2, 5)
    assert "year_end_shortfall" not in rules_found(dissolved, dt.date(2025, 8, 1))
