"""One evaluation of a unit and plan year: what it records, in order, over the port its transaction offers.

The rules' findings raise, refresh or resolve alerts; commitments whose date has come are checked against
the reports; open alerts that missed a deadline climb a level; whoever must act soon is reminded. The
decisions are the pure functions of rules.py, decisions.py, commitments.py and deadlines.py; this module
only orders them and says what to read and record, through `EvaluationStore`: PostgreSQL's, under the
evaluation's lock (evaluation_sql.py), or a fake in the handler tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from services.alerts.commitments import DueCommitment, Report, checked, decide
from services.alerts.config import AlertConfig
from services.alerts.deadlines import AlertClock, alert_reminders, missed_deadlines, reason, report_reminders
from services.alerts.decisions import CommitteeResolution, CurrentAlert, alert_events
from services.alerts.routing import next_level
from services.alerts.rules import confidence_votes, evaluate
from services.alerts.unit_year_facts import UnitYearFacts
from shared.events import AlertEscalated, DeadlineReminded, DomainEvent, Indicator

Done = Mapping[str, set[tuple[str, dt.date]]]  # by fingerprint (or a report's subject): (deadline, due) done


@dataclass(frozen=True)
class OpenClock:
    """An open alert with what its working-day clock needs: where it is routed now, and the head asked."""

    clock: AlertClock
    routed_to: str
    asked: str | None  # the leader asked to explain, if an explanation was requested

    @property
    def fingerprint(self) -> str:
        return self.clock.fingerprint


class EvaluationStore(Protocol):
    """What one evaluation reads and records, all in one transaction under its unit and year's lock."""

    async def alerts_now(self) -> tuple[dict[str, CurrentAlert], dict[str, CommitteeResolution]]:
        """The unit and year's open alerts raised by a rule (not a missed commitment's: the committee closes
        it), and the findings a committee resolved, by fingerprint."""
        ...

    async def due_commitments(self, today: dt.date) -> list[DueCommitment]:
        """The commitments not yet decided whose date has come, in the order they were made."""
        ...

    async def reports(self, indicator: Indicator) -> list[Report]:
        """The unit's reported totals (the projector's) for the indicator and year, by date."""
        ...

    async def open_clocks(self) -> list[OpenClock]:
        """The open alerts as they are now (after what this evaluation recorded so far), by fingerprint."""
        ...

    async def escalations_done(self, fingerprints: Iterable[str]) -> Done: ...

    async def reminders_done(self, today: dt.date) -> Done:
        """The reminders sent for deadlines on or after `today`, by fingerprint or report subject."""
        ...

    async def record(self, events: Sequence[tuple[DomainEvent, str]], unit_name: str | None, today: dt.date) -> None:
        """Append the events, apply each to its alert (by fingerprint) and queue its notifications."""
        ...

    async def record_reminders(
        self, reminders: Sequence[tuple[DeadlineReminded, OpenClock | None]], facts: UnitYearFacts
    ) -> None:
        """Append the reminders and e-mail each to whoever would receive it (an alert's, or a report's)."""
        ...


async def evaluate_unit_year(
    store: EvaluationStore, facts: UnitYearFacts, config: AlertConfig, today: dt.date
) -> list[DomainEvent]:
    """Evaluate every rule for the unit and year as of `today`; record what changed; return the events."""
    findings = [f for year in facts.indicators for f in evaluate(year, config, today)]
    if config.rules.confidence_vote.enabled:
        findings += confidence_votes(facts.votes, config)
    current, resolved = await store.alerts_now()
    recorded = alert_events(facts, findings, current, config.routing, today, resolved)
    await store.record(recorded, facts.unit.name, today)
    events = [event for event, _ in recorded]
    events += await _check_commitments(store, facts, config, today)
    clocks = await store.open_clocks()  # read once: the escalations' and the reminders'
    events += await _escalate_missed_deadlines(store, facts, clocks, config, today)
    events += await _remind(store, facts, clocks, config, today)
    return events


async def _check_commitments(
    store: EvaluationStore, facts: UnitYearFacts, config: AlertConfig, today: dt.date
) -> list[DomainEvent]:
    """The commitments whose date has come: decided by the unit's reports once one on or after the date
    exists, or the grace period is over."""
    days, grace = config.review.working_days(), config.review.commitment_grace_working_days
    recorded: list[DomainEvent] = []
    for commitment in await store.due_commitments(today):
        reports = await store.reports(commitment.indicator)
        basis = decide(commitment, reports, today, days.after(commitment.due, grace))
        if basis is None:
            continue
        events = checked(commitment, basis, basis in reports)
        # each keyed by its alert: the reviewed one's, or the new alert's own
        await store.record([(event, event.fingerprint) for event in events], facts.unit.name, today)
        recorded += events
    return recorded


async def _escalate_missed_deadlines(
    store: EvaluationStore, facts: UnitYearFacts, clocks: Sequence[OpenClock], config: AlertConfig, today: dt.date
) -> list[DomainEvent]:
    """Each open alert that missed a deadline (acknowledgement, explanation) not yet escalated for: one
    level up, as an event with its reason. Under the evaluation's lock, in its transaction: a kill -9 before
    the commit leaves nothing, and the next evaluation escalates once."""
    escalated = await store.escalations_done(clock.fingerprint for clock in clocks)
    review, routing = config.review, config.routing
    days = review.working_days()
    recorded: list[tuple[DomainEvent, str]] = []
    for alert in clocks:
        routed_to = alert.routed_to
        done = escalated.get(alert.fingerprint, set())
        for kind, due in missed_deadlines(alert.clock, today, review.acknowledge_working_days, days, done):
            up = next_level(facts.unit, routed_to, routing.top_committee, routing.top_escalation)
            event = AlertEscalated(
                fingerprint=alert.fingerprint, unit_code=facts.unit.unit_code, from_committee=routed_to,
                to_committee=up, reason=reason(kind, due), as_of=today, deadline=kind, deadline_due=due,
            )  # fmt: skip
            recorded.append((event, alert.fingerprint))
            routed_to = up
    await store.record(recorded, facts.unit.name, today)
    return [event for event, _ in recorded]


async def _remind(
    store: EvaluationStore, facts: UnitYearFacts, clocks: Sequence[OpenClock], config: AlertConfig, today: dt.date
) -> list[DomainEvent]:
    """Whoever must act, reminded once a few working days before a deadline: the committee to acknowledge,
    the head asked to explain, the unit's finance department to report a month. A reminder is to a person
    and changes no alert (it is an event in the log all the same)."""
    review, unit = config.review, facts.unit.unit_code
    days, ahead = review.working_days(), review.remind_working_days
    done = await store.reminders_done(today)
    drafts: list[tuple[DeadlineReminded, OpenClock | None]] = []
    for alert in clocks:  # a reminder's window ends where its escalation's begins: the two never overlap
        for kind, due in alert_reminders(alert.clock, today, review.acknowledge_working_days, ahead, days,
                                         done.get(alert.fingerprint, set())):  # fmt: skip
            asked = alert.asked if kind == "explanation" else None
            drafts.append((DeadlineReminded(unit_code=unit, deadline=kind, due=due, on=today,
                                            plan_year=facts.plan_year, fingerprint=alert.fingerprint,
                                            leader_id=asked), alert))  # fmt: skip
    for year in facts.indicators:
        reminded = {
            due for m in year.reporting
            for _, due in done.get(DeadlineReminded.report_subject(unit, year.indicator, f"{m.period_end:%Y-%m}"), ())
        }  # fmt: skip
        for month in report_reminders(year.reporting, today, ahead, days, reminded):
            drafts.append((DeadlineReminded(unit_code=unit, deadline="report", due=month.due_on, on=today,
                                            plan_year=facts.plan_year, indicator=year.indicator,
                                            period=f"{month.period_end:%Y-%m}"), None))  # fmt: skip
    await store.record_reminders(drafts, facts)
    return [event for event, _ in drafts]
