"""Actual year-to-date of one unit, indicator and plan year, on each date it reported: pure, no I/O.

Per line (source unit, category, project) the report that counts for a date is the one with the highest
position (a later report supersedes); a cumulative report starts a new running total and period reports
add to it; on a date a line did not report, its latest earlier value carries forward. A category has
rows from the first date one of its lines reported. The units merged into this one (sources other than
itself) count from the merger date on; where the successor's reports are consolidated (they include what
its predecessors disbursed), their last figures count only until its first report on or after the merger
date replaces them, so its year to date carries theirs and never falls on the merger date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
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
    unit_code: str,
    figures: Iterable[Figure],
    merged_on: Mapping[str, dt.date],
    consolidated: Collection[str] = frozenset(),
    carried_on: Iterable[dt.date] = (),
) -> dict[tuple[dt.date, str], Decimal]:
    """{(date, category): year-to-date} on each date `unit_code` itself reported and on the `carried_on`
    dates (its merger dates: what it carries then), per category and in total (category `TOTAL`).
    `merged_on` gives the merger date of each other source; `consolidated`, those the unit's own reports
    include from then on."""
    effective = _effective(figures)
    own_dates = sorted({day for (source, _, _), reports in effective.items() if source == unit_code for day in reports})
    counts = _Counting(unit_code, merged_on, consolidated, own_dates)
    dates = sorted(set(own_dates) | set(carried_on))
    totals: dict[tuple[dt.date, str], Decimal] = dict.fromkeys(((day, TOTAL) for day in dates), Decimal(0))
    for (source, category, _), reports in effective.items():
        own_line = source == unit_code  # its own figures always count: no per-day question
        running, value, days = Decimal(0), None, sorted(reports)
        next_report = 0
        for day in dates:
            while next_report < len(days) and days[next_report] <= day:  # the line's reports up to this date
                figure = reports[days[next_report]]
                running = figure.amount if figure.cumulative else running + figure.amount
                value, next_report = running, next_report + 1
            if value is None:
                continue  # a category has rows from its first report on: a new one leaves earlier dates as they were
            counted = value if own_line or counts(source, day) else Decimal(0)
            totals[(day, category)] = totals.get((day, category), Decimal(0)) + counted
            totals[(day, TOTAL)] += counted
    return totals


Line = tuple[str, str, str]  # source unit, category, project


@dataclass(frozen=True)
class _Counting:
    """Whether a source's figures count in the unit's year to date on a day."""

    unit_code: str
    merged_on: Mapping[str, dt.date]
    consolidated: Collection[str]
    own_dates: list[dt.date]  # sorted

    def __call__(self, source: str, day: dt.date) -> bool:
        if source == self.unit_code:
            return True
        merged = self.merged_on[source]
        if day < merged:
            return False
        if source not in self.consolidated:
            return True
        replaced_on = next((d for d in self.own_dates if d >= merged), None)  # its first consolidated report
        return replaced_on is None or day < replaced_on


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
    unit_code: str,
    figures: Iterable[Figure],
    merged_on: Mapping[str, dt.date],
    day: dt.date,
    consolidated: Collection[str] = frozenset(),
) -> list[Counted]:
    """The reports `actuals` adds up for the year to date on `day`: per line, its reports up to `day` from
    the latest cumulative one on (each date's counting report), a merged source's only while `actuals`
    counts it. Their amounts, added as `actuals` adds them, give its total on `day`."""
    figures = list(figures)
    effective = _effective(figures)
    own_dates = sorted({d for (source, _, _), reports in effective.items() if source == unit_code for d in reports})
    counts = _Counting(unit_code, merged_on, consolidated, own_dates)
    beaten: dict[tuple[Line, dt.date], list[Figure]] = {}
    for figure in figures:
        line = (figure.source, figure.category, figure.project_code)
        if effective[line][figure.as_of] is not figure:
            beaten.setdefault((line, figure.as_of), []).append(figure)
    result = []
    for line, reports in sorted(effective.items()):
        if not counts(line[0], day):
            continue
        days = [d for d in sorted(reports) if d <= day]
        starts = [i for i, d in enumerate(days) if reports[d].cumulative]
        for d in days[starts[-1] if starts else 0 :]:
            superseded = sorted(beaten.get((line, d), []), key=lambda f: f.position)
            result.append(Counted(reports[d], tuple(superseded)))
    return result
