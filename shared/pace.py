"""The pace rules, one definition for every service: expected pace, rate and status of a unit against its
target, and the pace file (PIM_PACE_FILE) they come from. The projector computes the status with them;
the alerts read the pace curve's end share; nothing else defines "behind".

Pure but for `pace_rules`, which reads the settings and the pace file.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from shared.events import Indicator
from shared.settings import PaceSettings

RATE_QUANTUM = Decimal("0.000001")  # rates are kept to 0.0001 percentage points


class Status(StrEnum):
    ON_TRACK = "on_track"
    BEHIND = "behind"  # more than the tolerance below the expected pace
    CRITICAL = "critical"  # under half of the expected pace
    NOT_ASSESSED = "not_assessed"  # no target, or a target of zero


@dataclass(frozen=True)
class Milestone:
    """By `month`/`day` of the plan year (+ `years_after`), `share` of the target should be reached."""

    month: int
    day: int
    share: Decimal
    years_after: int = 0

    def on(self, plan_year: int) -> dt.date:
        return dt.date(plan_year + self.years_after, self.month, self.day)


# Disbursement: ≥ 40 % by 30 June, ≥ 60 % by 30 September, ≥ 95 % by 31 January of the next year, the
# end of the disbursement window. Between milestones the pace is linear.
DISBURSEMENT_MILESTONES = (
    Milestone(6, 30, Decimal("0.40")),
    Milestone(9, 30, Decimal("0.60")),
    Milestone(1, 31, Decimal("0.95"), years_after=1),
)
# Revenue: the annual estimate spread evenly over the calendar year.
REVENUE_MILESTONES = (Milestone(12, 31, Decimal("1")),)


DEFAULT_CURVES = {Indicator.DISBURSEMENT: DISBURSEMENT_MILESTONES, Indicator.BUDGET_REVENUE: REVENUE_MILESTONES}


DEFAULT_TOLERANCE = Decimal("0.05")  # 5 percentage points, for each indicator
DEFAULT_TOLERANCES = dict.fromkeys(Indicator, DEFAULT_TOLERANCE)


@dataclass(frozen=True)
class PaceRules:
    """How progress is judged: per indicator, the pace curve and the tolerance a unit may trail it by.
    The one definition of "behind" and "critical": the progress rows, the accountability rows, the
    dashboards and the alerts' `below_pace` rule all read the status it gives."""

    tolerances: Mapping[Indicator, Decimal] = field(default_factory=lambda: dict(DEFAULT_TOLERANCES))
    curves: Mapping[Indicator, tuple[Milestone, ...]] = field(default_factory=lambda: dict(DEFAULT_CURVES))

    def pace(self, indicator: Indicator, plan_year: int, as_of: dt.date) -> Decimal:
        return expected_pace(self.curves[indicator], plan_year, as_of)

    def assess(self, indicator: Indicator, target: Decimal | None, actual_ytd: Decimal, pace: Decimal) -> Progress:
        return assess(target, actual_ytd, pace, self.tolerances[indicator])


def parse_pace_file(text: str) -> tuple[dict[Indicator, tuple[Milestone, ...]], dict[Indicator, Decimal]]:
    """Pace curves and tolerances from TOML: per indicator, `milestones = [{ by = "06-30", share = "0.40" },
    …]`, where `by = "+01-31"` means that day of the next year, or `curve = "linear"` over the calendar
    year; and `tolerance_pp`, the points a unit may trail the pace and still be on track.
    Raises ValueError naming what is wrong."""
    curves, tolerances = dict(DEFAULT_CURVES), dict(DEFAULT_TOLERANCES)
    for name, spec in tomllib.loads(text).items():
        try:
            indicator = Indicator(name)
        except ValueError:
            raise ValueError(f"unknown indicator {name!r} in the pace curves") from None
        unknown = set(spec) - {"curve", "milestones", "tolerance_pp"}
        if unknown:
            raise ValueError(f"{name}: unknown setting(s) {sorted(unknown)}")
        if "tolerance_pp" in spec:
            tolerance = Decimal(str(spec["tolerance_pp"]))
            if not Decimal(0) <= tolerance <= Decimal(100):
                raise ValueError(f"{name}.tolerance_pp: {tolerance} is not between 0 and 100 points")
            tolerances[indicator] = tolerance / 100
        if "curve" not in spec and "milestones" not in spec:
            continue  # the default curve
        if spec.get("curve") == "linear":
            curves[indicator] = REVENUE_MILESTONES
            continue
        milestones = []
        for point in spec.get("milestones", []):
            by, share = str(point["by"]), Decimal(str(point["share"]))
            years_after = 1 if by.startswith("+") else 0
            month, day = (int(part) for part in by.lstrip("+").split("-"))
            if not Decimal(0) <= share <= Decimal(1):
                raise ValueError(f"{name}: share {share} is not between 0 and 1")
            milestones.append(Milestone(month, day, share, years_after))
        dated = [(m.on(2001), m.share) for m in milestones]
        if not milestones or dated != sorted(dated) or any(a[1] > b[1] for a, b in itertools.pairwise(dated)):
            raise ValueError(f"{name}: milestones must be given in date order with growing shares")
        curves[indicator] = tuple(milestones)
    return curves, tolerances


@functools.lru_cache(maxsize=1 << 16)  # pure, and asked for the same few hundred dates again and again
def expected_pace(milestones: tuple[Milestone, ...], plan_year: int, as_of: dt.date) -> Decimal:
    """Share of the target expected by the end of `as_of`, interpolated linearly between milestones
    (starting from 0 on 1 January of the plan year)."""
    previous_date, previous_share = dt.date(plan_year, 1, 1) - dt.timedelta(days=1), Decimal(0)
    for milestone in milestones:
        date = milestone.on(plan_year)
        if as_of <= date:
            elapsed = max((as_of - previous_date).days, 0)
            span = (date - previous_date).days
            pace = previous_share + (milestone.share - previous_share) * Decimal(elapsed) / Decimal(span)
            return pace.quantize(RATE_QUANTUM, ROUND_HALF_EVEN)
        previous_date, previous_share = date, milestone.share
    return previous_share


def unit_pace(
    curve: tuple[Milestone, ...],
    plan_year: int,
    as_of: dt.date,
    decided_on: dt.date,
    milestones: Sequence[tuple[dt.date, Decimal]],
) -> Decimal:
    """The expected pace on `as_of` of a unit with its own `milestones` (date, share), decided on `decided_on`:
    the curve's until the decision; from it, linear from the curve's share on the decision date through the
    unit's milestones, then on to the curve's milestones after the unit's last (held after the last one)."""
    if as_of < decided_on or not milestones:
        return expected_pace(curve, plan_year, as_of)
    last = milestones[-1][0]
    points = [(decided_on, expected_pace(curve, plan_year, decided_on)), *milestones]
    points += [(m.on(plan_year), m.share) for m in curve if m.on(plan_year) > last]
    for (start, start_share), (end, end_share) in itertools.pairwise(points):
        if as_of <= end:
            pace = start_share + (end_share - start_share) * Decimal((as_of - start).days) / Decimal((end - start).days)
            return pace.quantize(RATE_QUANTUM, ROUND_HALF_EVEN)
    return points[-1][1]


@dataclass(frozen=True)
class Progress:
    target: Decimal | None
    actual_ytd: Decimal
    rate: Decimal | None
    expected_pace: Decimal
    gap_to_pace: Decimal | None
    status: Status


def assess(target: Decimal | None, actual_ytd: Decimal, pace: Decimal, tolerance: Decimal) -> Progress:
    """Rate, gap to pace and status of a unit whose year-to-date total is `actual_ytd`.

    `tolerance` is a fraction (0.05 = 5 percentage points) a unit may trail its pace and still be on
    track.
    """
    if target is None or target <= 0:
        return Progress(target, actual_ytd, None, pace, None, Status.NOT_ASSESSED)
    rate = (actual_ytd / target).quantize(RATE_QUANTUM, ROUND_HALF_EVEN)
    gap = pace - rate
    if rate * 2 < pace:
        status = Status.CRITICAL
    elif gap > tolerance:
        status = Status.BEHIND
    else:
        status = Status.ON_TRACK
    return Progress(target, actual_ytd, rate, pace, gap, status)


# Settings that moved: set, they would silently do nothing, so they stop the service with where they went.
MOVED = {
    "PIM_DISBURSEMENT_TOLERANCE_PP": "`tolerance_pp` of each indicator in the pace file (PIM_PACE_FILE, see "
    "infra/pace.toml): one tolerance for the progress rows, the dashboards and the alerts",
}


def pace_curves_and_tolerances(
    settings: PaceSettings,
) -> tuple[dict[Indicator, tuple[Milestone, ...]], dict[Indicator, Decimal]]:
    """The pace file's curves and tolerances (the built-in defaults when PIM_PACE_FILE is unset)."""
    for name, where in MOVED.items():
        if name in os.environ:
            raise ValueError(f"{name} is no longer read: set {where}")
    if settings.pim_pace_file is None:
        return dict(DEFAULT_CURVES), dict(DEFAULT_TOLERANCES)
    return parse_pace_file(settings.pim_pace_file.read_text(encoding="utf-8"))


def pace_rules(settings: PaceSettings) -> PaceRules:
    curves, tolerances = pace_curves_and_tolerances(settings)
    return PaceRules(tolerances=tolerances, curves=curves)
