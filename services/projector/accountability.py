"""Who answered for an indicator, month by month, and what happened on their watch ("5 rõ": clear
person, clear result). Pure functions over tenures and a unit's progress history; no I/O.

The plan year is split among the heads (or acting heads) in post; days with nobody in post are a
vacant stint, attributed to no one. Each stint carries the progress when it began and when it ended,
the part of the gap to pace that arose during it, and the months it spent behind pace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.events import Role
from shared.responsibility import Tenure

BEHIND = ("behind", "critical")
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class ProgressPoint:
    as_of: dt.date
    rate: Decimal | None
    expected_pace: Decimal
    status: str

    @property
    def gap(self) -> Decimal | None:
        """Expected pace minus rate: how far behind (negative: ahead)."""
        return None if self.rate is None else self.expected_pace - self.rate


@dataclass(frozen=True)
class Stint:
    tenure: Tenure | None  # None: the post was vacant
    start: dt.date
    end: dt.date  # inclusive
    rate_at_start: Decimal | None
    rate_at_end: Decimal | None
    gap_at_start: Decimal | None
    gap_at_end: Decimal | None
    months_behind: int

    @property
    def vacant(self) -> bool:
        return self.tenure is None

    @property
    def gap_arisen(self) -> Decimal | None:
        """The part of the gap to pace that arose during the stint."""
        if self.gap_at_start is None or self.gap_at_end is None:
            return None
        return self.gap_at_end - self.gap_at_start


def split_period(
    tenures: Iterable[Tenure], roles: Sequence[Role], start: dt.date, end: dt.date
) -> list[tuple[Tenure | None, dt.date, dt.date]]:
    """[start, end] split among the tenures of `roles` in post, day by day; gaps are vacant (None).
    Where two overlap (a departure recorded late), the later appointment takes over from its start."""
    relevant = sorted((t for t in tenures if t.role in roles), key=lambda t: t.start_date)
    pieces: list[tuple[Tenure | None, dt.date, dt.date]] = []
    day = start
    while day <= end:
        in_post = [t for t in relevant if t.covers(day)]
        holder = in_post[-1] if in_post else None
        # The holder keeps the post until they leave or someone newer starts.
        later_starts = [t.start_date for t in relevant if t.start_date > day]
        until = min([end, *(d - ONE_DAY for d in later_starts)])
        if holder is not None and holder.end_date is not None:
            until = min(until, holder.end_date)
        if holder is None:
            until = min([end, *(d - ONE_DAY for d in later_starts)])
        if pieces and pieces[-1][0] is holder and pieces[-1][2] == day - ONE_DAY:
            pieces[-1] = (holder, pieces[-1][1], until)
        else:
            pieces.append((holder, day, until))
        day = until + ONE_DAY
    return pieces


def _latest(points: Sequence[ProgressPoint], on_or_before: dt.date) -> ProgressPoint | None:
    candidates = [p for p in points if p.as_of <= on_or_before]
    return max(candidates, key=lambda p: p.as_of) if candidates else None


def attribute(
    tenures: Iterable[Tenure],
    points: Iterable[ProgressPoint],
    period_start: dt.date,
    period_end: dt.date,
    roles: Sequence[Role] = (Role.HEAD, Role.ACTING_HEAD),
) -> list[Stint]:
    """Stints of the period for `roles` (heads by default; pass the deputy role, with the deputy's
    tenures for one indicator, for the deputy in charge). A stint starting on the first day inherits
    no gap: nothing was expected yet."""
    history = sorted(points, key=lambda p: p.as_of)
    stints = []
    for tenure, start, end in split_period(tenures, roles, period_start, period_end):
        before = _latest(history, start - ONE_DAY)
        at_end = _latest(history, end)
        at_start_gap = Decimal(0) if before is None else before.gap
        at_start_rate = Decimal(0) if before is None else before.rate
        months = {
            (p.as_of.year, p.as_of.month): p for p in history if start <= p.as_of <= end
        }  # the latest report of each month counts
        behind = sum(1 for p in months.values() if p.status in BEHIND)
        stints.append(
            Stint(
                tenure,
                start,
                end,
                at_start_rate,
                at_end.rate if at_end else at_start_rate,
                at_start_gap,
                at_end.gap if at_end else at_start_gap,
                behind,
            )
        )
    return stints


def vote_band(voters: int, low: int) -> str:
    """Regulation 96 on a confidence vote: 2/3 or more "low" → dismissal; more than 1/2 → review."""
    if 3 * low >= 2 * voters:
        return "dismissal"
    if 2 * low > voters:
        return "review"
    return "none"
