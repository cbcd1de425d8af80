"""Vietnam's working days: Monday to Friday but for public holidays and Tết (the `holidays` library's
calendar for Vietnam, with the days off it moves and the Saturdays worked in their place), and the days a
year's government decision adds beyond it (configuration: `days_off`, `make_up_days`). A review's deadline
is counted in these days: five working days from the Friday before Tết end after it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import holidays


class WorkingDays:
    def __init__(self, days_off: Iterable[dt.date] = (), make_up_days: Iterable[dt.date] = ()) -> None:
        self._calendar = holidays.country_holidays("VN", language="vi")
        self._calendar.update({day: "Nghỉ theo quyết định / a day off by decision" for day in days_off})
        self._calendar.weekend_workdays = set(self._calendar.weekend_workdays) | set(make_up_days)
        # The calendar no longer changes: its answers are kept (a sweep asks the same few deadlines of
        # thousands of alerts; the library walks the days one by one each time).
        self._nth: dict[tuple[dt.date, int], dt.date] = {}

    def is_working_day(self, day: dt.date) -> bool:
        return bool(self._calendar.is_working_day(day))

    def after(self, start: dt.date, days: int) -> dt.date:
        """The `days`-th working day after `start` (a deadline `days` working days from `start`)."""
        if days <= 0:
            raise ValueError("a deadline is at least one working day away")
        return self._nth_working_day(start, days)

    def before(self, end: dt.date, days: int) -> dt.date:
        """The `days`-th working day before `end` (when a reminder `days` working days ahead is due)."""
        if days <= 0:
            raise ValueError("a reminder is at least one working day ahead")
        return self._nth_working_day(end, -days)

    def _nth_working_day(self, day: dt.date, n: int) -> dt.date:
        if (day, n) not in self._nth:
            self._nth[day, n] = self._calendar.get_nth_working_day(day, n)
        return self._nth[day, n]

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 when `end` is not after `start`)."""
        if end <= start:
            return 0
        count: int = self._calendar.get_working_days_count(start + dt.timedelta(days=1), end)
        return count

    def holiday_name(self, day: dt.date) -> str | None:
        name: str | None = self._calendar.get(day)
        return name
