"""The review's clock (pure): deadlines in working days across Tết, a silence, escalations climbing once,
reminders a few working days before each deadline (once)."""

from __future__ import annotations

import datetime as dt

from services.alerts.deadlines import AlertClock, alert_reminders, missed_deadlines, report_reminders
from services.alerts.routing import next_level
from services.alerts.rules import ReportingMonth
from services.alerts.unit_year_facts import UnitInfo
from shared.working_days import WorkingDays

D = dt.date
DAYS = WorkingDays()


def clock(**changes: object) -> AlertClock:
    base = {"fingerprint": "da-lat/x/below_pace/2025", "raised_on": D(2025, 1, 24), "acknowledged": False,
            "silenced_until": None, "explanation_due": None, "explained": False}  # fmt: skip
    return AlertClock(**(base | changes))  # type: ignore[arg-type]


def test_an_acknowledgement_due_across_tet_is_missed_the_working_day_after() -> None:
    # raised Friday 24 January 2025; Tết kept 27 January – 1 February off: three working days end 5 February
    assert missed_deadlines(clock(), D(2025, 2, 5), 3, DAYS, set()) == []
    assert missed_deadlines(clock(), D(2025, 2, 6), 3, DAYS, set()) == [("acknowledgement", D(2025, 2, 5))]
    assert missed_deadlines(clock(), D(2025, 2, 6), 3, DAYS, {("acknowledgement", D(2025, 2, 5))}) == []  # once
    assert missed_deadlines(clock(acknowledged=True), D(2025, 3, 1), 3, DAYS, set()) == []
    assert missed_deadlines(clock(silenced_until=D(2025, 2, 28)), D(2025, 2, 6), 3, DAYS, set()) == []


def test_an_explanation_is_missed_after_its_due_date_unless_given() -> None:
    asked = clock(acknowledged=True, explanation_due=D(2025, 5, 12))
    assert missed_deadlines(asked, D(2025, 5, 12), 3, DAYS, set()) == []
    assert missed_deadlines(asked, D(2025, 5, 13), 3, DAYS, set()) == [("explanation", D(2025, 5, 12))]
    given = clock(acknowledged=True, explanation_due=D(2025, 5, 12), explained=True)
    assert missed_deadlines(given, D(2025, 6, 1), 3, DAYS, set()) == []


def test_each_escalation_climbs_one_level_and_stops_at_the_top() -> None:
    commune = UnitInfo("xa-a", "Xã A", "UBKT Huyện", "UBKT Tỉnh")
    climbed = ["UBKT Huyện"]
    for _ in range(4):
        climbed.append(next_level(commune, climbed[-1], "UBKT Trung ương", "Lãnh đạo UBKT Trung ương"))
    assert climbed == ["UBKT Huyện", "UBKT Tỉnh", "UBKT Trung ương", "Lãnh đạo UBKT Trung ương",
                       "Lãnh đạo UBKT Trung ương"]  # fmt: skip


def test_reminders_come_two_working_days_before_each_deadline_across_tet_and_once() -> None:
    # acknowledgement due 5 February 2025 (after Tết): two working days before is 3 February, not in Tết
    assert alert_reminders(clock(), D(2025, 1, 31), 3, 2, DAYS, set()) == []  # Tết: too early
    assert alert_reminders(clock(), D(2025, 2, 3), 3, 2, DAYS, set()) == [("acknowledgement", D(2025, 2, 5))]
    assert alert_reminders(clock(), D(2025, 2, 5), 3, 2, DAYS, {("acknowledgement", D(2025, 2, 5))}) == []  # once
    assert alert_reminders(clock(), D(2025, 2, 6), 3, 2, DAYS, set()) == []  # missed: escalated, not reminded
    assert alert_reminders(clock(silenced_until=D(2025, 3, 1)), D(2025, 2, 3), 3, 2, DAYS, set()) == []
    asked = clock(acknowledged=True, explanation_due=D(2025, 5, 12))  # a Monday: reminded from Thursday 8
    assert alert_reminders(asked, D(2025, 5, 7), 3, 2, DAYS, set()) == []
    assert alert_reminders(asked, D(2025, 5, 8), 3, 2, DAYS, set()) == [("explanation", D(2025, 5, 12))]
    assert alert_reminders(clock(acknowledged=True, explanation_due=D(2025, 5, 12), explained=True), D(2025, 5, 8),
                           3, 2, DAYS, set()) == []  # fmt: skip


def test_a_report_is_reminded_before_its_due_day_unless_it_has_arrived() -> None:
    may = ReportingMonth(D(2025, 5, 31), D(2025, 6, 5), None)
    assert report_reminders([may], D(2025, 6, 2), 2, DAYS, set()) == []
    assert report_reminders([may], D(2025, 6, 3), 2, DAYS, set()) == [may]
    assert report_reminders([may], D(2025, 6, 3), 2, DAYS, {D(2025, 6, 5)}) == []  # once
    arrived = ReportingMonth(D(2025, 5, 31), D(2025, 6, 5), D(2025, 6, 2))
    assert report_reminders([arrived], D(2025, 6, 3), 2, DAYS, set()) == []
    later = ReportingMonth(D(2025, 5, 31), D(2025, 6, 5), D(2025, 6, 4))  # known only after today: still owed
    assert report_reminders([later], D(2025, 6, 3), 2, DAYS, set()) == [later]
