"""Deadlines in Vietnam's working days (the holidays library's calendar, with a year's decisions on top)."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.working_days import WorkingDays

D = dt.date


def test_a_deadline_across_tet_skips_the_holiday_and_the_weekend() -> None:
    days = WorkingDays()
    # Friday 24 January 2025; Tết Ất Tỵ kept 27 January – 1 February off: three working days end on 5 February
    assert days.after(D(2025, 1, 24), 3) == D(2025, 2, 5)
    assert days.between(D(2025, 1, 24), D(2025, 2, 5)) == 3
    assert not days.is_working_day(D(2025, 1, 29)) and days.holiday_name(D(2025, 1, 29)) == "Tết Nguyên Đán"


def test_an_ordinary_week_counts_monday_to_friday() -> None:
    days = WorkingDays()
    assert days.after(D(2025, 6, 6), 5) == D(2025, 6, 13)  # Friday to Friday
    assert days.between(D(2025, 6, 6), D(2025, 6, 8)) == 0  # a weekend
    assert days.between(D(2025, 6, 13), D(2025, 6, 6)) == 0


def test_a_saturday_worked_in_exchange_counts_and_a_decided_day_off_does_not() -> None:
    days = WorkingDays()
    assert days.is_working_day(D(2025, 4, 26))  # worked for the 2 May bridge (the library knows it)
    assert not days.is_working_day(D(2025, 5, 2))
    decided = WorkingDays(days_off=[D(2025, 6, 9)], make_up_days=[D(2025, 6, 14)])
    assert not decided.is_working_day(D(2025, 6, 9)) and decided.is_working_day(D(2025, 6, 14))
    assert decided.after(D(2025, 6, 6), 5) == D(2025, 6, 14)  # Monday off, Saturday worked


def test_a_deadline_is_a_working_day_away_at_least() -> None:
    with pytest.raises(ValueError, match="at least one working day"):
        WorkingDays().after(D(2025, 6, 6), 0)
