"""The review's clock: an alert must be acknowledged within a number of Vietnam's working days of being
raised, an explanation asked for must come by its due date, and a month's report by the projector's due day.
A few working days before each, whoever must act is reminded (once); each alert deadline missed escalates
the alert once, one level up. Pure: the service reads the open alerts, the months owed and what was done."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from services.alerts.rules import ReportingMonth
from shared.working_days import WorkingDays

Deadline = Literal["acknowledgement", "explanation"]
Reminded = set[tuple[str, dt.date]]  # (deadline, due) already reminded, for one alert or one report


@dataclass(frozen=True)
class AlertClock:
    fingerprint: str
    raised_on: dt.date  # in Vietnam's time
    acknowledged: bool
    silenced_until: dt.date | None
    explanation_due: dt.date | None
    explained: bool


def missed_deadlines(
    alert: AlertClock, today: dt.date, acknowledge_days: int, days: WorkingDays, escalated: set[tuple[str, dt.date]]
) -> list[tuple[Deadline, dt.date]]:
    """The deadlines `alert` has missed by `today` that have not escalated it yet, each with its date. A
    silenced alert was seen by its committee: its acknowledgement is not awaited while the silence holds."""
    missed: list[tuple[Deadline, dt.date]] = []
    acknowledge_by = days.after(alert.raised_on, acknowledge_days)
    silenced = alert.silenced_until is not None and alert.silenced_until >= today
    if not alert.acknowledged and not silenced and today > acknowledge_by:
        missed.append(("acknowledgement", acknowledge_by))
    if alert.explanation_due is not None and not alert.explained and today > alert.explanation_due:
        missed.append(("explanation", alert.explanation_due))
    return [(kind, due) for kind, due in missed if (kind, due) not in escalated]


def reason(kind: Deadline, due: dt.date) -> str:
    day = f"{due:%d/%m/%Y}"
    if kind == "acknowledgement":
        return f"không tiếp nhận trước hạn {day} / not acknowledged by {due}"
    return f"không giải trình trước hạn {day} / no explanation by {due}"


def _near(due: dt.date, today: dt.date, remind_days: int, days: WorkingDays) -> bool:
    """From `remind_days` working days before the deadline up to the deadline itself."""
    return days.before(due, remind_days) <= today <= due


def alert_reminders(
    alert: AlertClock, today: dt.date, acknowledge_days: int, remind_days: int, days: WorkingDays, reminded: Reminded
) -> list[tuple[Deadline, dt.date]]:
    """The alert's deadlines near and not met, not yet reminded: acknowledgement (not while silenced),
    explanation."""
    near: list[tuple[Deadline, dt.date]] = []
    acknowledge_by = days.after(alert.raised_on, acknowledge_days)
    silenced = alert.silenced_until is not None and alert.silenced_until >= today
    if not alert.acknowledged and not silenced and _near(acknowledge_by, today, remind_days, days):
        near.append(("acknowledgement", acknowledge_by))
    due = alert.explanation_due
    if due is not None and not alert.explained and _near(due, today, remind_days, days):
        near.append(("explanation", due))
    return [(kind, due) for kind, due in near if (kind, due) not in reminded]


def report_reminders(
    months: Sequence[ReportingMonth], today: dt.date, remind_days: int, days: WorkingDays, reminded: set[dt.date]
) -> list[ReportingMonth]:
    """The months whose report is due soon and not received by today, not yet reminded (by due day)."""
    return [
        m for m in months
        if (m.received_on is None or m.received_on > today) and _near(m.due_on, today, remind_days, days)
        and m.due_on not in reminded
    ]  # fmt: skip
