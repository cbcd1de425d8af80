"""Projecting where a unit will end its plan year, from its trajectory so far and the seasonal shape of
its past years: if by this day it has usually reached a share s of its final total, today's rate r
projects to r / s. Without a complete past year, the pace curve stands in for the seasonal shape."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

QUANTUM = Decimal("0.0001")


@dataclass(frozen=True)
class Trajectory:
    """A past plan year of the unit: cumulative actuals by date."""

    plan_year: int
    points: tuple[tuple[dt.date, Decimal], ...]  # (as_of, actual_ytd), by date

    def is_complete(self) -> bool:
        return bool(self.points) and self.points[-1][0] >= dt.date(self.plan_year, 12, 1) and self.final > 0

    @property
    def final(self) -> Decimal:
        return self.points[-1][1]

    def actual_on(self, day: dt.date) -> Decimal:
        """Cumulative actual on `day`, linear between reports, from 0 on 1 January."""
        previous_day, previous = dt.date(self.plan_year, 1, 1) - dt.timedelta(days=1), Decimal(0)
        for as_of, actual in self.points:
            if day <= as_of:
                span = (as_of - previous_day).days
                return previous + (actual - previous) * Decimal(max((day - previous_day).days, 0)) / Decimal(span)
            previous_day, previous = as_of, actual
        return previous


@dataclass(frozen=True)
class Projection:
    rate: Decimal  # projected rate at the end of the window
    seasonal_share: Decimal  # the share of the final total usually reached by this day
    basis: str  # which seasonal shape was used


def _same_day_in(day: dt.date, years_back: int) -> dt.date:
    try:
        return day.replace(year=day.year - years_back)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years_back, day=28)


def seasonal_share(day: dt.date, plan_year: int, past_years: tuple[Trajectory, ...]) -> Decimal | None:
    """The average share of their final total that the complete past years had reached by this day."""
    shares = [
        past.actual_on(_same_day_in(day, plan_year - past.plan_year)) / past.final
        for past in past_years
        if past.is_complete()
    ]
    if not shares:
        return None
    return (sum(shares, Decimal(0)) / len(shares)).quantize(QUANTUM, ROUND_HALF_EVEN)


def project_final_rate(
    as_of: dt.date,
    rate: Decimal,
    plan_year: int,
    past_years: tuple[Trajectory, ...],
    expected_pace: Decimal,
    final_pace: Decimal,
) -> Projection | None:
    share = seasonal_share(as_of, plan_year, past_years)
    basis = f"seasonal curve of {sum(p.is_complete() for p in past_years)} past year(s)"
    if share is None:
        if final_pace <= 0:
            return None
        share = (expected_pace / final_pace).quantize(QUANTUM, ROUND_HALF_EVEN)
        basis = "pace curve (no complete past year)"
    if share <= 0:
        return None
    return Projection((rate / min(share, Decimal(1))).quantize(QUANTUM, ROUND_HALF_EVEN), share, basis)
