"""The review's clock: an alert must be acknowledged within a number of Vietnam's working days of being
raised, and an explanation asked for must come by its due date. Each deadline missed escalates the alert
once, one level up. Pure: the service reads the open alerts and the deadlines already escalated."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from shared.working_days import WorkingDays

Deadline = Literal["acknowledgement", "explanation"]


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
