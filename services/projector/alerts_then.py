"""The alerts open on a date, as the alerts service's published steps made them by then: pure, no I/O.

A board pack as of a date shows each alert as it stood on that date — raised by figures dated by then, at
the severity and with the summary of its latest step dated by then, escalated if it had been — and not an
alert raised, refreshed or resolved by later figures. Steps with no data date (acknowledged, silenced)
change nothing a pack shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class AlertStep:
    """One published step of an alert's life (a row of `alert_timeline`)."""

    position: int
    fingerprint: str
    event_type: str
    data_date: dt.date | None
    unit_code: str
    indicator: str | None
    plan_year: int | None
    rule: str | None
    severity: str | None
    summary: str | None
    committee: str | None
    responsible_leader_id: str | None
    responsible_leader_name: str | None


@dataclass(frozen=True)
class AlertThen:
    fingerprint: str
    unit_code: str
    indicator: str | None
    plan_year: int
    rule: str
    severity: str
    raised_as_of: dt.date
    as_of: dt.date  # the data date of the step it stands on
    summary: str
    committee: str
    escalated_to: str | None
    responsible_leader_id: str | None
    responsible_leader_name: str | None


def alerts_open_on(steps: Iterable[AlertStep], day: dt.date) -> list[AlertThen]:
    """The alerts open on `day`, by the steps dated on or before it, each as its latest such step left it;
    ordered by severity (critical first), data date and rule."""
    open_now: dict[str, AlertThen] = {}
    for step in sorted(steps, key=lambda s: s.position):
        if step.data_date is None or step.data_date > day:
            continue
        alert = open_now.get(step.fingerprint)
        if step.event_type == "AlertRaised":
            open_now[step.fingerprint] = AlertThen(
                step.fingerprint, step.unit_code, step.indicator, step.plan_year or 0, step.rule or "",
                step.severity or "", step.data_date, step.data_date, step.summary or "", step.committee or "", None,
                step.responsible_leader_id, step.responsible_leader_name,
            )  # fmt: skip
        elif alert is None:
            continue  # a step of a life raised by figures after `day`
        elif step.event_type == "AlertRefreshed":
            open_now[step.fingerprint] = replace(
                alert, severity=step.severity or alert.severity, summary=step.summary or alert.summary,
                as_of=step.data_date, responsible_leader_id=step.responsible_leader_id,
                responsible_leader_name=step.responsible_leader_name,
            )  # fmt: skip
        elif step.event_type == "AlertEscalated":
            open_now[step.fingerprint] = replace(alert, escalated_to=step.committee)
        elif step.event_type == "AlertResolved":
            del open_now[step.fingerprint]
    return sorted(open_now.values(), key=lambda a: (a.severity != "critical", a.as_of, a.rule))
