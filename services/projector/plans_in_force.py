"""The plan in force on a date: pure, no I/O.

A plan binds from its decision (quyết định giao kế hoạch): a list as of D uses the newest decision dated on
or before D, so a revision decided in December changes the lists from its decision date on and leaves every
earlier list as it was. A decision without a date is taken as the plan of the whole year (in force from the
plan year's first day), as PIM read every plan before decisions were dated. A unit merged into another
brings its plan in force to the successor from the merger date.

A plan is assigned by the Prime Minister or by the province (with its local capital); a unit may have both.
The plan "preferring" one is that one's where the unit has it, else the other's: a unit with one plan is
held to it whoever ranks it.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

PRIME_MINISTER, PROVINCE = "prime_minister", "province"


@dataclass(frozen=True, order=True)
class PlanDecision:
    """A `TargetSet` or `TargetAdjusted` of one unit, indicator and plan year: the year's plan from
    `in_force_from` on. Ordered as they supersede each other: by date in force, then as recorded."""

    in_force_from: dt.date
    position: int
    amount: Decimal
    late_supplement: Decimal  # the part supplemented after 30 September
    assigned_by: str = PRIME_MINISTER  # prime_minister | province


def decision_in_force(
    decisions: Iterable[PlanDecision], day: dt.date, prefer: str = PRIME_MINISTER
) -> PlanDecision | None:
    """The decision that sets the plan on `day`: the newest in force by then of the plan assigned by `prefer`,
    else of the other; None before the first."""
    in_force = [d for d in decisions if d.in_force_from <= day]
    return max((d for d in in_force if d.assigned_by == prefer), default=None) or max(in_force, default=None)


@dataclass(frozen=True, order=True)
class PaceDecision:
    """A unit's own milestones (`UnitMilestonesSet`), in force from its decision date: its expected pace runs
    through them instead of the indicator's curve; none returns it to the curve."""

    decided_on: dt.date
    position: int
    number: str
    milestones: tuple[tuple[dt.date, Decimal], ...]


@dataclass(frozen=True)
class KeyPlans:
    """The plan decisions one unit's rows for an indicator and year depend on: its own, and those of the
    units merged into it (each unit's, with its merger date)."""

    own: tuple[PlanDecision, ...] = ()
    merged: tuple[tuple[dt.date, tuple[PlanDecision, ...]], ...] = field(default_factory=tuple)
    paces: tuple[PaceDecision, ...] = ()  # the unit's own milestones, by decision
    # Every answer below is the same between two dates a decision or a merger takes effect on: worked out
    # once per such stretch (a key has a row per report date and category: hundreds of asks, a few stretches).
    _memo: dict[tuple[object, ...], object] = field(default_factory=dict, compare=False, repr=False)
    _breaks: tuple[dt.date, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        breaks = self.change_dates() | {d.decided_on for d in self.paces} | {m for m, _ in self.merged}
        object.__setattr__(self, "_breaks", tuple(sorted(breaks)))

    def _stretch(self, day: dt.date) -> int:
        return bisect.bisect_right(self._breaks, day)

    def pace_on(self, day: dt.date) -> PaceDecision | None:
        """The unit's own milestones in force on `day`, None where the indicator's curve applies."""
        if not self.paces:
            return None
        decision = max((d for d in self.paces if d.decided_on <= day), default=None)
        return decision if decision is not None and decision.milestones else None

    def on(self, day: dt.date, prefer: str = PRIME_MINISTER) -> tuple[Decimal | None, Decimal]:
        """The plan on `day` (assigned by `prefer` where there is one) and its late supplement: the unit's own
        in force, plus from each merger date the plan then in force of the unit merged in."""
        memo = ("on", self._stretch(day), prefer)
        if memo not in self._memo:
            self._memo[memo] = self._on(day, prefer)
        return self._memo[memo]  # type: ignore[return-value]

    def _on(self, day: dt.date, prefer: str) -> tuple[Decimal | None, Decimal]:
        own = decision_in_force(self.own, day, prefer)
        plan, late = (None, Decimal(0)) if own is None else (own.amount, own.late_supplement)
        for merged_on, decisions in self.merged:
            brought = decision_in_force(decisions, day, prefer) if day >= merged_on else None
            if brought is not None:
                plan = (plan or Decimal(0)) + brought.amount
                late += brought.late_supplement
        return plan, late

    def assigned_on(self, day: dt.date, by: str) -> bool:
        """Whether a plan assigned by `by` is in force on `day` (the unit's or a merged unit's)."""
        memo = ("assigned", self._stretch(day), by)
        if memo not in self._memo:
            self._memo[memo] = self._assigned_on(day, by)
        return bool(self._memo[memo])

    def _assigned_on(self, day: dt.date, by: str) -> bool:
        decisions = [*self.own, *(d for merged_on, ds in self.merged if day >= merged_on for d in ds)]
        return any(d.assigned_by == by and d.in_force_from <= day for d in decisions)

    def change_dates(self) -> set[dt.date]:
        """The dates the plan may change on without a report: each decision's, and each merger's."""
        dates = {d.in_force_from for d in self.own}
        for merged_on, decisions in self.merged:
            dates |= {max(merged_on, d.in_force_from) for d in decisions}
        return dates
