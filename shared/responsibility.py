"""Who answers for a unit's indicator on a date ("5 rõ": clear person), from the tenures on record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.events import Role


@dataclass(frozen=True)
class Tenure:
    leader_id: str
    leader_name: str
    role: Role
    indicator: str | None  # set for a deputy in charge of one indicator
    start_date: dt.date
    end_date: dt.date | None  # last day in the post; None while in office
    tenure_id: str = ""

    def covers(self, day: dt.date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


@dataclass(frozen=True)
class Responsible:
    head: Tenure | None  # the head, or the acting head; None when the post was vacant
    deputy: Tenure | None  # the deputy in charge of the indicator, if one was named


def responsible_on(tenures: list[Tenure], indicator: str, day: dt.date) -> Responsible:
    """The head (or acting head) and the deputy in charge of `indicator` in office on `day`.

    If tenures overlap (a late record of a departure), the one that started last is taken: it is the
    appointment that replaced the other.
    """
    in_office = sorted((t for t in tenures if t.covers(day)), key=lambda t: t.start_date, reverse=True)
    head = next((t for t in in_office if t.role in (Role.HEAD, Role.ACTING_HEAD)), None)
    deputy = next((t for t in in_office if t.role is Role.DEPUTY_IN_CHARGE and t.indicator == indicator), None)
    return Responsible(head, deputy)
