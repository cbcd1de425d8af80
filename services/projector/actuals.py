"""Actual year-to-date of one unit, indicator and plan year, on each date it reported: pure, no I/O.

Per line (source unit, category, project) the report that counts for a date is the one with the highest
position (a later report supersedes); a cumulative report starts a new running total and period reports
add to it; on a date a line did not report, its latest earlier value carries forward. A category has
rows from the first date one of its lines reported. The units merged into this one (sources other than
itself) count from the merger date on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

TOTAL = ""  # the category of the unit's total


@dataclass(frozen=True)
class Figure:
    source: str  # the unit that reported it: this unit, or one merged into it
    category: str
    project_code: str
    as_of: dt.date
    position: int
    cumulative: bool
    amount: Decimal


def actuals(
    unit_code: str, figures: Iterable[Figure], merged_on: Mapping[str, dt.date]
) -> dict[tuple[dt.date, str], Decimal]:
    """{(date, category): year-to-date} on each date `unit_code` itself reported, per category and in
    total (category `TOTAL`). `merged_on` gives the merger date of each other source."""
    effective: dict[tuple[str, str, str], dict[dt.date, Figure]] = {}
    for figure in figures:
        reports = effective.setdefault((figure.source, figure.category, figure.project_code), {})
        current = reports.get(figure.as_of)
        if current is None or current.position < figure.position:
            reports[figure.as_of] = figure
    own_dates = sorted({day for (source, _, _), reports in effective.items() if source == unit_code for day in reports})
    totals: dict[tuple[dt.date, str], Decimal] = dict.fromkeys(((day, TOTAL) for day in own_dates), Decimal(0))
    for (source, category, _), reports in effective.items():
        from_day = merged_on.get(source) if source != unit_code else None
        running, value, days = Decimal(0), None, sorted(reports)
        next_report = 0
        for day in own_dates:
            while next_report < len(days) and days[next_report] <= day:  # the line's reports up to this date
                figure = reports[days[next_report]]
                running = figure.amount if figure.cumulative else running + figure.amount
                value, next_report = running, next_report + 1
            if value is None:
                continue  # a category has rows from its first report on: a new one leaves earlier dates as they were
            counted = Decimal(0) if from_day is not None and day < from_day else value
            totals[(day, category)] = totals.get((day, category), Decimal(0)) + counted
            totals[(day, TOTAL)] += counted
    return totals
