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
    effective = _effective(figures)
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


Line = tuple[str, str, str]  # source unit, category, project


def _effective(figures: Iterable[Figure]) -> dict[Line, dict[dt.date, Figure]]:
    """Per line and date, the report that counts: the highest position."""
    effective: dict[Line, dict[dt.date, Figure]] = {}
    for figure in figures:
        reports = effective.setdefault((figure.source, figure.category, figure.project_code), {})
        current = reports.get(figure.as_of)
        if current is None or current.position < figure.position:
            reports[figure.as_of] = figure
    return effective


@dataclass(frozen=True)
class Counted:
    """A report that makes up a year to date, with the earlier reports for its line and date it superseded."""

    figure: Figure
    superseded: tuple[Figure, ...]


def counted_reports(
    unit_code: str, figures: Iterable[Figure], merged_on: Mapping[str, dt.date], day: dt.date
) -> list[Counted]:
    """The reports `actuals` adds up for the year to date on `day`: per line, its reports up to `day` from
    the latest cumulative one on (each date's counting report), a merged source's only from its merger
    date. Their amounts, added as `actuals` adds them, give its total on `day`."""
    figures = list(figures)
    effective = _effective(figures)
    beaten: dict[tuple[Line, dt.date], list[Figure]] = {}
    for figure in figures:
        line = (figure.source, figure.category, figure.project_code)
        if effective[line][figure.as_of] is not figure:
            beaten.setdefault((line, figure.as_of), []).append(figure)
    result = []
    for line, reports in sorted(effective.items()):
        from_day = merged_on.get(line[0]) if line[0] != unit_code else None
        if from_day is not None and day < from_day:
            continue
        days = [d for d in sorted(reports) if d <= day]
        starts = [i for i, d in enumerate(days) if reports[d].cumulative]
        for d in days[starts[-1] if starts else 0 :]:
            superseded = sorted(beaten.get((line, d), []), key=lambda f: f.position)
            result.append(Counted(reports[d], tuple(superseded)))
    return result
