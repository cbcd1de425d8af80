"""The rows a batch of ledger events writes into the projector's fact tables, and what they touch: pure,
no database (fact_tables.py writes them). Each row carries the position of the event that made it, so
the writes can be idempotent and order-independent."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from services.projector.accountability import vote_band
from services.projector.touched import EVER, ProgressKey, Touched
from shared.clock import VIETNAM
from shared.events import (
    AlertAcknowledged,
    AlertEscalated,
    AlertRaised,
    AlertRefreshed,
    AlertResolved,
    AlertSilenced,
    CommitmentChecked,
    ConfidenceVoteRecorded,
    ExplanationRequested,
    ExplanationSubmitted,
    FigureFields,
    LeaderAppointed,
    LeaderLeft,
    RecordedEvent,
    TargetAdjusted,
    TargetSet,
    UnitDissolved,
    UnitMilestonesSet,
    UnitRegistered,
    UnitsMerged,
)
from shared.money import plain_decimal

Row = tuple[object, ...]
AlertEvent = AlertRaised | AlertRefreshed | AlertEscalated | AlertAcknowledged | AlertSilenced | AlertResolved
ReviewEvent = ExplanationRequested | ExplanationSubmitted | CommitmentChecked | AlertResolved


@dataclass
class FactRows:
    """Rows per fact table, in the column order of fact_tables.py's statements."""

    units: list[Row] = field(default_factory=list)
    versions: list[Row] = field(default_factory=list)
    mergers: list[Row] = field(default_factory=list)
    dissolutions: list[Row] = field(default_factory=list)
    handovers: list[Row] = field(default_factory=list)
    appointments: list[Row] = field(default_factory=list)
    departures: list[Row] = field(default_factory=list)
    targets: list[Row] = field(default_factory=list)
    target_history: list[Row] = field(default_factory=list)
    milestones: list[Row] = field(default_factory=list)
    figures: list[Row] = field(default_factory=list)
    votes: list[Row] = field(default_factory=list)
    alert_steps: list[Row] = field(default_factory=list)
    review_steps: list[Row] = field(default_factory=list)
    touched: Touched = field(default_factory=Touched)

    @classmethod
    def of(cls, events: Sequence[RecordedEvent]) -> FactRows:
        rows = cls()
        for recorded in events:
            rows.add(recorded)
        rows.touched.registered = {str(unit[0]) for unit in rows.units}
        rows.touched.retenured = {str(a[1]) for a in rows.appointments} | {str(d[1]) for d in rows.departures}
        rows.touched.successors = {str(m[1]) for m in rows.mergers}
        return rows

    def add(self, recorded: RecordedEvent) -> None:
        """The rows one event writes; an event with no fact of the projector's (a submission's receipt) none."""
        event, position, recorded_on = recorded.event(), recorded.position, recorded.recorded_at.date()
        match event:
            case UnitRegistered():
                self._registered(event, position, recorded.recorded_at.astimezone(VIETNAM).date())
            case UnitsMerged():
                self.mergers += [(code, event.unit_code, event.effective_date, position, event.successor_reports)
                                 for code in event.predecessor_codes]  # fmt: skip
            case UnitDissolved():
                self._dissolved(event, position)
            case LeaderAppointed():
                self.appointments.append((event.tenure_id, event.unit_code, event.leader_id, event.leader_name,
                                          event.role.value, event.indicator.value if event.indicator else None,
                                          event.start_date, position))  # fmt: skip
            case LeaderLeft():
                self.departures.append((event.tenure_id, event.unit_code, event.end_date, position))
            case TargetSet() | TargetAdjusted():
                self._target(event, position, recorded_on)
            case UnitMilestonesSet():
                self._milestones(event, position)
            case FigureFields():
                line = event.line()
                known_on = line.document_date or recorded_on
                self.figures.append((position, *line[:-1], known_on))  # `figures` keeps when it became known
                self._know(ProgressKey(line.unit_code, line.indicator.value, line.plan_year), known_on, event.as_of)
            case ConfidenceVoteRecorded():
                band = vote_band(event.voters, event.low)
                self.votes.append((position, event.unit_code, event.leader_id, event.vote_date, event.voters,
                                   event.high, event.confidence, event.low, band))  # fmt: skip
            case AlertRaised() | AlertRefreshed() | AlertEscalated() | AlertAcknowledged() | AlertSilenced():
                self.alert_steps.append(alert_step(event, position, recorded_on))
            case AlertResolved():
                self.alert_steps.append(alert_step(event, position, recorded_on))
                if event.outcome is not None:  # the committee's conclusion
                    self.review_steps.append(review_step(event, position, recorded_on))
            case ExplanationRequested() | ExplanationSubmitted() | CommitmentChecked():
                self.review_steps.append(review_step(event, position, recorded_on))
            case _:
                pass

    def _know(self, key: ProgressKey, known_on: dt.date, since: dt.date = EVER) -> None:
        """`key`'s rows change from `since` (every row by default), and what was known on `known_on` too."""
        self.touched.touch(key, since)
        self.touched.know(key, known_on)
        self.touched.saw_known(known_on, known_on)

    def _registered(self, event: UnitRegistered, position: int, recorded_on: dt.date) -> None:
        self.units.append((event.unit_code, event.name, event.level, event.parent_code, event.committee, position))
        self.versions.append((position, event.unit_code, event.effective_from, recorded_on, event.name, event.level,
                              event.parent_code, event.committee))  # fmt: skip

    def _dissolved(self, event: UnitDissolved, position: int) -> None:
        self.dissolutions.append((event.unit_code, event.effective_date, position))
        for h in event.handovers:
            self.handovers.append((position, event.unit_code, h.receiver_code, h.indicator.value, h.plan_year,
                                   event.effective_date, h.plan, h.year_to_date, event.receivers_report))  # fmt: skip
            # The receiver takes its part from the date; the unit leaves its lists then.
            self.touched.touch(ProgressKey(h.receiver_code, h.indicator.value, h.plan_year))
            self.touched.touch(ProgressKey(event.unit_code, h.indicator.value, h.plan_year))

    def _target(self, event: TargetSet | TargetAdjusted, position: int, recorded_on: dt.date) -> None:
        late_supplement = event.late_supplement if isinstance(event, TargetAdjusted) else Decimal(0)
        # A plan binds from its decision: "as known on" a meeting date shows the plans decided by then, and a
        # list "as of" a date uses the plan in force then (undated: the whole year's plan).
        known_on = event.decision_date or recorded_on
        in_force_from = event.decision_date or dt.date(event.plan_year, 1, 1)
        indicator = event.indicator.value
        self.targets.append((event.unit_code, indicator, event.plan_year, event.amount, late_supplement,
                             event.decision_number, event.decision_date, event.decision_authority, position,
                             event.assigned_by))  # fmt: skip
        self.target_history.append((position, event.unit_code, indicator, event.plan_year, event.amount,
                                    late_supplement, known_on, in_force_from, event.assigned_by))  # fmt: skip
        self._know(ProgressKey(event.unit_code, indicator, event.plan_year), known_on)

    def _milestones(self, event: UnitMilestonesSet, position: int) -> None:
        shares = json.dumps([{"by": m.by.isoformat(), "share": plain_decimal(m.share)} for m in event.milestones])
        self.milestones.append((position, event.unit_code, event.indicator.value, event.plan_year,
                                event.decision_number, event.decision_date, shares))  # fmt: skip
        self._know(ProgressKey(event.unit_code, event.indicator.value, event.plan_year), event.decision_date)


def alert_step(event: AlertEvent, position: int, known_on: dt.date) -> Row:
    """One step of an alert's life as the alerts service published it, in `_ALERT_STEP_COLUMNS` order."""
    raised = event if isinstance(event, AlertRaised) else None
    graded = event if isinstance(event, AlertRaised | AlertRefreshed) else None
    committee = raised.committee if raised else event.to_committee if isinstance(event, AlertEscalated) else None
    return (
        position, event.fingerprint, event.type, getattr(event, "as_of", None), known_on, event.unit_code,
        raised.indicator.value if raised and raised.indicator else None, raised.plan_year if raised else None,
        raised.rule if raised else None, graded.severity if graded else None, graded.summary if graded else None,
        committee, graded.responsible_leader_id if graded else None, graded.responsible_leader_name if graded else None,
    )  # fmt: skip


def review_step(event: ReviewEvent, position: int, known_on: dt.date) -> Row:
    """One step of an alert's review as the alerts service published it, in `_REVIEW_STEP_COLUMNS` order."""
    base = (position, event.fingerprint, event.type)
    match event:
        case ExplanationRequested():
            return (*base, event.on, known_on, event.unit_code, event.leader_id, event.leader_name, event.by,
                    event.due, None, event.note, None, None, None, None, None, None)  # fmt: skip
        case ExplanationSubmitted():
            promises = [c.model_dump(mode="json") for c in event.commitments]
            return (*base, event.on, known_on, event.unit_code, event.leader_id, None, event.by, None,
                    list(event.causes), event.text, event.document, promises, None, None, None, None)  # fmt: skip
        case CommitmentChecked():
            decided_on = event.figures_as_of or event.due
            promise = [{"rate": _text(event.rate), "amount": _text(event.amount)}]
            return (*base, decided_on, known_on, event.unit_code, event.leader_id, None, None, event.due, None, None,
                    None, promise, event.indicator.value, event.kept, event.reached, None)  # fmt: skip
        case AlertResolved():
            return (*base, event.as_of, known_on, event.unit_code, None, None, event.resolved_by, None, None,
                    event.conclusion, event.document, None, None, None, None, event.outcome)  # fmt: skip


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else plain_decimal(amount)
