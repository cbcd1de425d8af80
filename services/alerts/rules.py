"""Alert rules as pure functions: from a unit's progress over a plan year, as of an evaluation date, what
is wrong, how badly, and the evidence. No I/O here.

A finding is keyed by its rule and period (a plan year, a month, a vote); with the unit and indicator
that makes the alert's fingerprint, so one condition is one alert however often it is re-evaluated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from services.alerts.config import AlertConfig, Severity
from services.alerts.seasonal import Trajectory, project_final_rate
from shared.display import billions, percent
from shared.events import Indicator, plan_window
from shared.money import plain_decimal

QUANTUM = Decimal("0.0001")


@dataclass(frozen=True)
class ReportedTotal:
    """A unit's total for an indicator on one reported date, as the projector computed it."""

    as_of: dt.date
    actual_ytd: Decimal
    rate: Decimal | None  # None: not assessed (no target, or zero)
    expected_pace: Decimal
    peer_average: Decimal | None = None
    standing: str | None = None  # at_or_above | below | not_assessed
    status: str | None = None  # on_track | behind | critical | not_assessed: the projector's, against its tolerance


@dataclass(frozen=True)
class ReportingMonth:
    """A month the unit owes a report for, as the projector keeps it (`reporting_periods`): its due day is
    the projector's, so the alert and the reporting-on-time indicator count from one day."""

    period_end: dt.date
    due_on: dt.date
    received_on: dt.date | None  # the day its first figure became known; None: not yet


@dataclass(frozen=True)
class IndicatorYear:
    """What the rules see of one unit, indicator and plan year, as of the evaluation date."""

    unit_code: str
    indicator: Indicator
    plan_year: int
    target: Decimal | None
    points: tuple[ReportedTotal, ...]  # by date, none after the evaluation date
    reporting: tuple[ReportingMonth, ...] = ()  # by month
    past_years: tuple[Trajectory, ...] = ()
    final_pace: Decimal = Decimal("1")  # the pace curve's share at the end of the window

    @property
    def window_end(self) -> dt.date:
        """The last day figures count for the plan year (`plan_window`)."""
        return plan_window(self.indicator, self.plan_year)[1]

    def closes_on(self) -> dt.date:
        """The day the year's findings are final: the window's last report is due (as many days after the
        window's end as the projector's months are due after theirs)."""
        due_after = next((month.due_on - month.period_end for month in self.reporting), dt.timedelta(0))
        return self.window_end + due_after

    def latest(self) -> ReportedTotal | None:
        return self.points[-1] if self.points else None

    def point_in_month(self, year: int, month: int) -> ReportedTotal | None:
        found = [p for p in self.points if (p.as_of.year, p.as_of.month) == (year, month)]
        return found[-1] if found else None


@dataclass(frozen=True)
class Vote:
    leader_id: str
    leader_name: str | None
    vote_date: dt.date
    voters: int
    low: int
    band: str  # dismissal | review | none


@dataclass(frozen=True)
class Finding:
    rule: str
    indicator: Indicator | None
    plan_year: int
    period: str  # the plan year, a month (YYYY-MM; January of the next year for disbursement) or a vote
    severity: Severity
    summary: str
    evidence: dict[str, str]
    on: dt.date  # the date the finding is about: the report's date, a missing report's deadline, a vote's date
    escalate: bool = False  # behind long enough to go to the committee one level up

    def fingerprint(self, unit_code: str) -> str:
        return fingerprint(unit_code, self.indicator, self.rule, self.plan_year, self.period)


def fingerprint(unit_code: str, indicator: Indicator | str | None, rule: str, plan_year: int, period: str) -> str:
    """One open alert at a time per unit, indicator, rule and period. The plan year is part of it: January
    is a period of two plan years for disbursement (the last month of one window, the first of the next)."""
    key = f"{unit_code}/{indicator or '-'}/{rule}/{plan_year}"
    return key if period == str(plan_year) else f"{key}/{period}"


# A summary is what a committee member reads first: Vietnamese, then English; rates as percentages,
# money in tỷ đồng with dots between thousands, dates as Vietnamese write them (shared/display.py).
# Evidence is data for machines and the appendix: exact decimals, never in exponent notation.
def _pct(value: Decimal | None) -> str:
    return percent(value, 1)


def _day(day: dt.date) -> str:
    return f"{day:%d/%m/%Y}"


def _plain(value: Decimal | None) -> str:
    """An exact decimal as digits (`23478000000000`, never `2.34780E+13`); '' for none."""
    return "" if value is None else plain_decimal(value)


def _amounts(year: IndicatorYear, point: ReportedTotal) -> str:
    return f"{billions(point.actual_ytd)}/{billions(year.target)} tỷ đồng"


def _base_evidence(year: IndicatorYear, point: ReportedTotal) -> dict[str, str]:
    return {
        "as_of": point.as_of.isoformat(),
        "target": _plain(year.target),
        "actual_ytd": _plain(point.actual_ytd),
        "rate": _plain(point.rate),
        "expected_pace": _plain(point.expected_pace),
    }


def below_pace(year: IndicatorYear, config: AlertConfig) -> Finding | None:
    rule = config.rules.below_pace
    point = year.latest()
    # "Behind" is the projector's status (its tolerance, from the pace file): the dashboards show the same.
    if point is None or point.rate is None or point.status not in BEHIND:
        return None
    critical = point.status == "critical"
    behind_run = _behind_run(year.points)
    evidence = _base_evidence(year, point) | {
        "status": str(point.status),
        "consecutive_reports_behind": str(behind_run),
    }
    return Finding(
        "below_pace",
        year.indicator,
        year.plan_year,
        str(year.plan_year),
        "critical" if critical else rule.severity,
        f"Đạt {_pct(point.rate)} so với tiến độ {_pct(point.expected_pace)} ngày {_day(point.as_of)}"
        f" ({_amounts(year, point)}) / {_pct(point.rate)} against a pace of {_pct(point.expected_pace)}"
        f" on {point.as_of}",
        evidence,
        on=point.as_of,
        escalate=behind_run >= rule.escalate_after_periods,
    )


BEHIND = ("behind", "critical")


def _behind_run(points: tuple[ReportedTotal, ...]) -> int:
    """How many of the latest reports in a row were behind pace."""
    run = 0
    for point in reversed(points):
        if point.status not in BEHIND:
            break
        run += 1
    return run


def below_peer_average(year: IndicatorYear, config: AlertConfig) -> Finding | None:
    rule = config.rules.below_peer_average
    point = year.latest()
    if point is None or point.rate is None or point.peer_average is None or point.standing != "below":
        return None  # the projector's standing, in the unit's home group: the one source of "below"
    if point.rate >= point.peer_average - rule.margin_pp / 100:
        return None  # within the margin the rules file allows
    return Finding(
        "below_peer_average",
        year.indicator,
        year.plan_year,
        str(year.plan_year),
        rule.severity,
        f"Đạt {_pct(point.rate)}, dưới mức bình quân {_pct(point.peer_average)} ngày {_day(point.as_of)}"
        f" / {_pct(point.rate)} against an average of {_pct(point.peer_average)} on {point.as_of}",
        _base_evidence(year, point)
        | {"peer_average": _plain(point.peer_average), "margin": _plain(rule.margin_pp / 100)},
        on=point.as_of,
    )


def below_share_at_sep30(year: IndicatorYear, config: AlertConfig) -> Finding | None:
    rule = config.rules.below_share_at_sep30
    point = year.point_in_month(year.plan_year, 9)
    if point is None or point.rate is None or point.rate >= rule.share:
        return None
    return Finding(
        "below_share_at_sep30",
        year.indicator,
        year.plan_year,
        str(year.plan_year),
        rule.severity,
        f"Đến 30/9 đạt {_pct(point.rate)} kế hoạch, dưới {_pct(rule.share)} ({_amounts(year, point)})"
        f" / {_pct(point.rate)} of the plan on {point.as_of}, under {_pct(rule.share)} at 30 September",
        _base_evidence(year, point) | {"threshold": _plain(rule.share)},
        on=point.as_of,
    )


def year_end_shortfall(year: IndicatorYear, config: AlertConfig, today: dt.date) -> Finding | None:
    rule = config.rules.year_end_shortfall
    point = year.latest()
    if today <= year.closes_on():
        return None
    if point is None or point.rate is None or point.rate >= rule.share:
        return None
    return Finding(
        "year_end_shortfall",
        year.indicator,
        year.plan_year,
        str(year.plan_year),
        rule.severity,
        f"Hết thời hạn ({_day(year.window_end)}) đạt {_pct(point.rate)}, dưới {_pct(rule.share)}"
        f" ({_amounts(year, point)}) / {_pct(point.rate)} of the target when the window closed on"
        f" {year.window_end}, under {_pct(rule.share)}",
        _base_evidence(year, point) | {"threshold": _plain(rule.share), "window_end": year.window_end.isoformat()},
        on=point.as_of,
    )


def missing_reports(year: IndicatorYear, config: AlertConfig, today: dt.date) -> list[Finding]:
    """A month past its due day with no figure known by `today`, or known only after its due day: the
    projector's reporting months (a unit with no plan owes none)."""
    rule = config.rules.missing_report
    findings = []
    for month in year.reporting:
        deadline, arrived = month.due_on, month.received_on
        if today <= deadline:
            break
        y, m = month.period_end.year, month.period_end.month
        period = f"{y:04d}-{m:02d}"
        if arrived is None or arrived > today:
            days = (today - deadline).days
            summary = (
                f"Chưa báo cáo kỳ {m:02d}/{y}, hạn {_day(deadline)} (quá {days} ngày)"
                f" / no report for {period}, due {deadline} ({days} days overdue)"
            )
            details = {"days_overdue": str(days)}
        elif arrived > deadline:
            days = (arrived - deadline).days
            summary = (
                f"Báo cáo kỳ {m:02d}/{y} nộp ngày {_day(arrived)}, chậm {days} ngày so với hạn {_day(deadline)}"
                f" / report for {period} arrived {arrived}, {days} days after the deadline {deadline}"
            )
            details = {"arrived": arrived.isoformat(), "days_late": str(days)}
        else:
            continue
        evidence = {"period": period, "deadline": deadline.isoformat()} | details
        findings.append(
            Finding(
                "missing_report", year.indicator, year.plan_year, period, rule.severity, summary, evidence, on=deadline
            )
        )
    return findings


def back_loading(year: IndicatorYear, config: AlertConfig) -> Finding | None:
    """More than the configured share of the year's total came after 30 September."""
    rule = config.rules.back_loading
    final = year.latest()
    sep30 = year.point_in_month(year.plan_year, 9)
    if final is None or sep30 is None or final.as_of < dt.date(year.plan_year, 12, 31) or final.actual_ytd <= 0:
        return None
    share = ((final.actual_ytd - sep30.actual_ytd) / final.actual_ytd).quantize(QUANTUM, ROUND_HALF_EVEN)
    if share <= rule.last_quarter_share:
        return None
    return Finding(
        "back_loading",
        year.indicator,
        year.plan_year,
        str(year.plan_year),
        rule.severity,
        f"{_pct(share)} giá trị cả năm dồn vào sau 30/9 (giới hạn {_pct(rule.last_quarter_share)})"
        f" / {_pct(share)} of the year's total came after 30 September (limit {_pct(rule.last_quarter_share)})",
        {
            "as_of": final.as_of.isoformat(),
            "actual_at_sep30": _plain(sep30.actual_ytd),
            "actual_final": _plain(final.actual_ytd),
            "last_quarter_share": _plain(share),
            "threshold": _plain(rule.last_quarter_share),
        },
        on=final.as_of,
    )


def early_warning(year: IndicatorYear, config: AlertConfig, today: dt.date) -> Finding | None:
    """Projects the rate at the end of the window before it closes; flags a projection under target."""
    rule = config.rules.early_warning
    point = year.latest()
    if point is None or point.rate is None or today > year.window_end or len(year.points) < rule.min_reports:
        return None
    projection = project_final_rate(
        point.as_of, point.rate, year.plan_year, year.past_years, point.expected_pace, year.final_pace
    )
    if projection is None or projection.seasonal_share < rule.min_seasonal_share:
        return None
    if projection.rate >= rule.share:
        return None
    return Finding(
        "early_warning",
        year.indicator,
        year.plan_year,
        str(year.plan_year),
        rule.severity,
        f"Dự báo đạt {_pct(projection.rate)} khi hết thời hạn {_day(year.window_end)}, dưới {_pct(rule.share)}"
        f" / projected {_pct(projection.rate)} at {year.window_end} ({projection.basis}), under {_pct(rule.share)}",
        _base_evidence(year, point)
        | {
            "projected_rate": _plain(projection.rate),
            "seasonal_share": _plain(projection.seasonal_share),
            "basis": projection.basis,
            "threshold": _plain(rule.share),
        },
        on=point.as_of,
    )


PEFA_BANDS: tuple[tuple[str, Decimal, Decimal], ...] = (
    ("A", Decimal("0.97"), Decimal("1.06")),
    ("B", Decimal("0.94"), Decimal("1.12")),
    ("C", Decimal("0.92"), Decimal("1.16")),
)


def pefa_band(outturn: Decimal) -> Literal["A", "B", "C", "D"]:
    """PEFA PI-3 score of a revenue outturn (actual / estimate)."""
    for band, low, high in PEFA_BANDS:
        if low <= outturn <= high:
            return band  # type: ignore[return-value]
    return "D"


def revenue_outturn(year: IndicatorYear, config: AlertConfig) -> Finding | None:
    rule = config.rules.revenue_outturn
    point = year.point_in_month(year.plan_year, 12)
    if point is None or point.rate is None:
        return None
    band = pefa_band(point.rate)
    if band not in rule.flag_bands:
        return None
    return Finding(
        "revenue_outturn",
        year.indicator,
        year.plan_year,
        str(year.plan_year),
        rule.band_severity.get(band, "warning"),
        f"Thu đạt {_pct(point.rate)} dự toán: mức {band} theo PEFA PI-3 / outturn {_pct(point.rate)} of the"
        f" estimate: PEFA PI-3 band {band}",
        _base_evidence(year, point) | {"band": band},
        on=point.as_of,
    )


def confidence_votes(votes: list[Vote], config: AlertConfig) -> list[Finding]:
    rule = config.rules.confidence_vote
    findings = []
    for vote in votes:
        if vote.band not in ("review", "dismissal"):
            continue
        severity = rule.dismissal_severity if vote.band == "dismissal" else rule.review_severity
        action = (
            "đề nghị miễn nhiệm (≥ 2/3 tín nhiệm thấp) / dismissal recommended (≥ 2/3 low)"
            if vote.band == "dismissal"
            else "xem xét (> 1/2 tín nhiệm thấp) / review (> 1/2 low)"
        )
        findings.append(
            Finding(
                "confidence_vote",
                None,
                vote.vote_date.year,
                f"{vote.leader_id}@{vote.vote_date.isoformat()}",
                severity,
                f"{vote.leader_name or vote.leader_id}: {vote.low}/{vote.voters} phiếu tín nhiệm thấp"
                f" / {vote.low} of {vote.voters} low confidence — {action}",
                {
                    "leader_id": vote.leader_id,
                    "leader_name": vote.leader_name or "",
                    "vote_date": vote.vote_date.isoformat(),
                    "voters": str(vote.voters),
                    "low": str(vote.low),
                    "band": vote.band,
                },
                on=vote.vote_date,
            )
        )
    return findings


def evaluate(year: IndicatorYear, config: AlertConfig, today: dt.date) -> list[Finding]:
    """Every enabled rule that applies to the indicator, on the facts known by `today`.

    The in-year rules (pace, peer average, 30 September, early warning) run while the year is open;
    once its last report is due, the year-end findings take over and the in-year alerts resolve.
    """
    rules = config.rules
    year = _as_of(year, today)
    in_year = today <= year.closes_on()
    candidates: list[Finding | None] = []

    def applies(rule_config: object, while_open: bool = False) -> bool:
        if while_open and not in_year:
            return False
        return getattr(rule_config, "enabled", False) and year.indicator in getattr(rule_config, "indicators", [])

    if applies(rules.below_pace, while_open=True):
        candidates.append(below_pace(year, config))
    if applies(rules.below_peer_average, while_open=True):
        candidates.append(below_peer_average(year, config))
    if applies(rules.below_share_at_sep30, while_open=True):
        candidates.append(below_share_at_sep30(year, config))
    if applies(rules.year_end_shortfall):
        candidates.append(year_end_shortfall(year, config, today))
    if applies(rules.back_loading):
        candidates.append(back_loading(year, config))
    if applies(rules.early_warning, while_open=True):
        candidates.append(early_warning(year, config, today))
    if applies(rules.revenue_outturn):
        candidates.append(revenue_outturn(year, config))
    findings = [finding for finding in candidates if finding is not None]
    if applies(rules.missing_report):
        findings += missing_reports(year, config, today)
    return findings


def _as_of(year: IndicatorYear, today: dt.date) -> IndicatorYear:
    return dataclasses.replace(year, points=tuple(p for p in year.points if p.as_of <= today))
