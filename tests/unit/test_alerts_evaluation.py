"""The alerts' evaluation of a unit and year over a fake store (no PostgreSQL, no broker): what it reads,
what it records and in which order — alerts raised from the findings, commitments checked against the
reports, a missed deadline escalated one level once, reminders before deadlines — and that a second
evaluation on the same day records nothing again. The SQL port itself is tested against PostgreSQL
(tests/integration/test_alerts_service.py, test_review_loop.py)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from services.alerts.commitments import COMMITMENT_MISSED, DueCommitment, Report
from services.alerts.config import parse_alert_config
from services.alerts.deadlines import AlertClock
from services.alerts.decisions import CommitteeResolution, CurrentAlert
from services.alerts.evaluation import Done, OpenClock, evaluate_unit_year
from services.alerts.rules import IndicatorYear, ReportedTotal, ReportingMonth
from services.alerts.unit_year_facts import UnitInfo, UnitYearFacts
from shared.events import (
    AlertEscalated,
    AlertRaised,
    AlertRefreshed,
    AlertResolved,
    CommitmentChecked,
    DeadlineReminded,
    DomainEvent,
    Indicator,
    Role,
)
from shared.pace import DEFAULT_TOLERANCE, assess
from shared.responsibility import Tenure

# the pace's own rules only: the early warning's projection is held by its own tests (test_rules.py)
CONFIG = parse_alert_config("rules:\n  early_warning:\n    enabled: false\n")
D = Decimal
DISB = Indicator.DISBURSEMENT
DA_LAT = UnitInfo("da-lat", "Thành phố Đà Lạt", "Ủy ban Kiểm tra Thành ủy Đà Lạt", "Ủy ban Kiểm tra Tỉnh ủy Lâm Đồng")
HEAD = Tenure("L2", "Trần Thị Bình", Role.HEAD, None, dt.date(2021, 6, 1), None)
MONDAY = dt.date(2025, 4, 14)


@dataclass
class FakeAlert:
    fingerprint: str
    rule: str
    severity: str
    committee: str
    raised_on: dt.date
    summary: str = ""
    evidence: dict[str, str] = field(default_factory=dict)
    leader_id: str | None = "L2"
    escalated_to: str | None = None
    acknowledged: bool = False
    explanation_due: dt.date | None = None
    asked: str | None = None
    status: str = "open"
    resolution: str | None = None


class FakeEvaluation:
    """The evaluation's store in memory: the alerts' rows it reads, and what it was asked to record, applied
    as the alerts table would apply it (a raise opens an alert, a resolution closes it, an escalation
    moves it) so that later reads in the same evaluation see the earlier steps, as in one transaction."""

    def __init__(
        self, alerts: Iterable[FakeAlert] = (), commitments: Iterable[DueCommitment] = (),
        reports: Sequence[Report] = (),
    ) -> None:  # fmt: skip
        self.alerts = {a.fingerprint: a for a in alerts}
        self.commitments = list(commitments)
        self.decided: set[tuple[int, int]] = set()
        self._reports = list(reports)
        self.escalated: dict[str, set[tuple[str, dt.date]]] = defaultdict(set)
        self.reminded_for: dict[str, set[tuple[str, dt.date]]] = defaultdict(set)
        self.recorded: list[tuple[DomainEvent, str]] = []
        self.reminders: list[tuple[DeadlineReminded, OpenClock | None]] = []

    async def alerts_now(self) -> tuple[dict[str, CurrentAlert], dict[str, CommitteeResolution]]:
        current = {
            a.fingerprint: CurrentAlert(
                a.fingerprint, a.rule, a.severity, a.escalated_to, a.summary, a.evidence, a.leader_id
            )
            for a in self.alerts.values()
            if a.status == "open" and a.rule != COMMITMENT_MISSED
        }
        resolved = {
            a.fingerprint: CommitteeResolution(a.severity, a.resolution or "")
            for a in self.alerts.values()
            if a.status == "resolved" and a.resolution is not None
        }
        return current, resolved

    async def due_commitments(self, today: dt.date) -> list[DueCommitment]:
        return [c for c in self.commitments if c.due <= today and (c.position, c.ordinal) not in self.decided]

    async def reports(self, indicator: Indicator) -> list[Report]:
        return list(self._reports)

    async def open_clocks(self) -> list[OpenClock]:
        return [
            OpenClock(
                AlertClock(a.fingerprint, a.raised_on, a.acknowledged, None, a.explanation_due, False),
                a.escalated_to or a.committee,
                a.asked,
            )
            for a in sorted(self.alerts.values(), key=lambda a: a.fingerprint)
            if a.status == "open"
        ]

    async def escalations_done(self, fingerprints: Iterable[str]) -> Done:
        return {fp: set(self.escalated[fp]) for fp in fingerprints}

    async def reminders_done(self, today: dt.date) -> Done:
        return {subject: {(k, due) for k, due in done if due >= today} for subject, done in self.reminded_for.items()}

    async def record(self, events: Sequence[tuple[DomainEvent, str]], unit_name: str | None, today: dt.date) -> None:
        for event, key in events:
            self.recorded.append((event, key))
            match event:
                case AlertRaised():
                    self.alerts[key] = FakeAlert(
                        key, event.rule, event.severity, event.committee, today, event.summary, event.evidence,
                        event.responsible_leader_id,
                    )  # fmt: skip
                case AlertRefreshed():
                    self.alerts[key].severity = event.severity
                case AlertResolved():
                    self.alerts[key].status = "resolved"
                case AlertEscalated():
                    self.alerts[key].escalated_to = event.to_committee
                    if event.deadline is not None and event.deadline_due is not None:
                        self.escalated[key].add((event.deadline, event.deadline_due))
                case CommitmentChecked():
                    self.decided.add((event.commitment_position, event.ordinal))

    async def record_reminders(
        self, reminders: Sequence[tuple[DeadlineReminded, OpenClock | None]], facts: UnitYearFacts
    ) -> None:
        for event, alert in reminders:
            self.reminders.append((event, alert))
            self.reminded_for[event.subject()].add((event.deadline, event.due))

    def types(self) -> list[str]:
        return [type(event).__name__ for event, _ in self.recorded]


def month_end(month: int) -> dt.date:
    return dt.date(2025 + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def behind(rates: Sequence[str], paces: Sequence[str]) -> IndicatorYear:
    """Monthly disbursement reports from January (a target of 1,000), each received two days after its month."""
    points = tuple(
        ReportedTotal(
            month_end(m),
            D(r) * 1000,
            D(r),
            D(p),
            None,
            None,
            assess(D(1000), D(r) * 1000, D(p), DEFAULT_TOLERANCE).status.value,
        )
        for m, (r, p) in enumerate(zip(rates, paces, strict=True), start=1)
    )
    received = {p.as_of: p.as_of + dt.timedelta(days=2) for p in points}
    months = tuple(ReportingMonth(month_end(m), month_end(m) + dt.timedelta(days=5), received.get(month_end(m)))
                   for m in range(1, 13))  # fmt: skip
    return IndicatorYear("da-lat", DISB, 2025, D(1000), points, months, (), D("0.95"))


def facts(*years: IndicatorYear) -> UnitYearFacts:
    return UnitYearFacts(unit=DA_LAT, plan_year=2025, indicators=list(years), votes=[], tenures=[HEAD], version=7)


BEHIND = behind(["0.20", "0.12", "0.13"], ["0.2", "0.3", "0.4"])  # two reports behind: below pace, not escalated
FINDING = "da-lat/public_investment_disbursement/below_pace/2025"


async def test_a_unit_behind_pace_raises_one_alert_and_the_same_day_again_records_nothing() -> None:
    store = FakeEvaluation()
    events = await evaluate_unit_year(store, facts(BEHIND), CONFIG, MONDAY)
    raised = [e for e in events if isinstance(e, AlertRaised)]
    assert [e.rule for e in raised] == ["below_pace"]
    assert raised[0].responsible_leader_name == "Trần Thị Bình" and raised[0].committee == DA_LAT.committee
    assert [key for _, key in store.recorded] == [raised[0].fingerprint] * len(store.recorded)
    assert [e for e, _ in store.recorded] == events  # what it returns is what it recorded, in order
    assert await evaluate_unit_year(store, facts(BEHIND), CONFIG, MONDAY) == []


async def test_a_unit_back_on_pace_has_its_alert_resolved_and_no_clock_runs_on_it() -> None:
    open_one = FakeAlert(FINDING, "below_pace", "warning", DA_LAT.committee, raised_on=dt.date(2025, 3, 3))
    store = FakeEvaluation([open_one])
    events = await evaluate_unit_year(store, facts(behind(["0.20", "0.30", "0.40"], ["0.2", "0.3", "0.4"])),
                                      CONFIG, MONDAY)  # fmt: skip
    assert store.types() == ["AlertResolved"]  # unacknowledged for weeks, but resolved first: no escalation
    assert isinstance(events[0], AlertResolved) and events[0].fingerprint == open_one.fingerprint


async def raised(on: dt.date, **then: object) -> FakeEvaluation:
    """A store holding the alert an evaluation on `on` raised for `BEHIND`, then changed as `then` says."""
    store = FakeEvaluation()
    await evaluate_unit_year(store, facts(BEHIND), CONFIG, on)
    store.alerts[FINDING] = replace(store.alerts[FINDING], **then)  # type: ignore[arg-type]
    store.recorded.clear()
    return store


async def test_an_alert_not_acknowledged_in_time_climbs_one_level_once() -> None:
    store = await raised(dt.date(2025, 4, 1))  # a Tuesday; three working days to acknowledge: due Friday the 4th
    first = await evaluate_unit_year(store, facts(BEHIND), CONFIG, MONDAY)
    assert [(e.from_committee, e.to_committee, e.deadline, e.deadline_due) for e in first
            if isinstance(e, AlertEscalated)] == [
        (DA_LAT.committee, DA_LAT.parent_committee, "acknowledgement", dt.date(2025, 4, 4))
    ]  # fmt: skip
    assert store.alerts[FINDING].escalated_to == DA_LAT.parent_committee
    later = await evaluate_unit_year(store, facts(BEHIND), CONFIG, MONDAY + dt.timedelta(days=1))
    assert not [e for e in later if isinstance(e, AlertEscalated)]  # once per missed deadline


async def test_the_steps_run_in_order_findings_commitments_escalations_reminders() -> None:
    store = await raised(dt.date(2025, 3, 3), acknowledged=True, explanation_due=dt.date(2025, 4, 10), asked="L2")
    store.commitments = [DueCommitment(41, 1, FINDING, "da-lat", "L2", "Trần Thị Bình", DISB, 2025,
                                       dt.date(2025, 3, 31), D("0.30"), None, DA_LAT.committee)]  # fmt: skip
    store._reports = [Report(dt.date(2025, 3, 31), D("0.13"), D(130))]
    worse = behind(["0.20", "0.12", "0.13"], ["0.2", "0.3", "0.5"])  # now under half the pace: critical
    events = await evaluate_unit_year(store, facts(worse), CONFIG, MONDAY)
    kinds = [type(e).__name__ for e in events]
    assert kinds[:4] == ["AlertRefreshed", "CommitmentChecked", "AlertRaised", "AlertEscalated"], kinds
    refreshed, checked, missed, escalated = events[:4]
    assert isinstance(refreshed, AlertRefreshed) and refreshed.severity == "critical"
    assert isinstance(checked, CommitmentChecked) and not checked.kept
    assert checked.figures_as_of == dt.date(2025, 3, 31)
    assert isinstance(missed, AlertRaised) and missed.rule == COMMITMENT_MISSED
    # the explanation was due on the 10th and never came: the reviewed alert climbs, after the promise
    assert isinstance(escalated, AlertEscalated) and escalated.deadline == "explanation"
    assert escalated.fingerprint == FINDING
    assert set(kinds[4:]) <= {"DeadlineReminded"} and len(kinds[4:]) == len(store.reminders)
    assert (41, 1) in store.decided  # decided once: the next evaluation does not check it again
    again = await evaluate_unit_year(store, facts(worse), CONFIG, MONDAY)
    assert not [e for e in again if isinstance(e, CommitmentChecked | AlertEscalated)]


async def test_reminders_go_out_a_few_working_days_before_and_once() -> None:
    store = await raised(MONDAY)  # to acknowledge by Thursday the 17th; reminded two working days before
    await evaluate_unit_year(store, facts(BEHIND), CONFIG, MONDAY)
    assert [e.deadline for e, _ in store.reminders] == []  # too early
    tuesday = MONDAY + dt.timedelta(days=1)
    await evaluate_unit_year(store, facts(BEHIND), CONFIG, tuesday)
    reminded = [(e.deadline, e.subject(), e.due, alert and alert.routed_to) for e, alert in store.reminders]
    assert reminded == [("acknowledgement", FINDING, dt.date(2025, 4, 17), DA_LAT.committee)]
    await evaluate_unit_year(store, facts(BEHIND), CONFIG, tuesday + dt.timedelta(days=1))
    assert len(store.reminders) == 1  # not twice
