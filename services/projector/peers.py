"""Peer standing, as the Ministry of Finance publishes it each month: a unit's rate against the
weighted average of its peer group (total actual / total target, not the mean of the rates), the
at-or-above / below / not-assessed lists, and a rank with ties. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

RATE_QUANTUM = Decimal("0.000001")


class Standing(StrEnum):
    AT_OR_ABOVE = "at_or_above"
    BELOW = "below"
    NOT_ASSESSED = "not_assessed"  # no target, a target cut to zero, or excluded (e.g. plan supplemented late)


@dataclass(frozen=True)
class PeerFigures:
    unit_code: str
    target: Decimal | None
    actual: Decimal
    excluded: bool = False  # assessed by nobody this period, whatever its numbers

    @property
    def assessed(self) -> bool:
        return not self.excluded and self.target is not None and self.target > 0

    @property
    def rate(self) -> Decimal | None:
        if not self.assessed or self.target is None:
            return None
        return (self.actual / self.target).quantize(RATE_QUANTUM, ROUND_HALF_EVEN)


@dataclass(frozen=True)
class PeerStanding:
    unit_code: str
    rate: Decimal | None
    peer_average: Decimal | None
    standing: Standing
    rank: int | None  # 1 = best; units with the same rate share a rank (1, 2, 2, 4)


def weighted_average(units: Iterable[PeerFigures]) -> Decimal | None:
    """Total actual over total target of the assessed units; None if none is assessed."""
    assessed = [u for u in units if u.assessed]
    total_target = sum((u.target for u in assessed if u.target is not None), Decimal(0))
    if not assessed or total_target == 0:
        return None
    total_actual = sum((u.actual for u in assessed), Decimal(0))
    return (total_actual / total_target).quantize(RATE_QUANTUM, ROUND_HALF_EVEN)


def peer_standings(units: Iterable[PeerFigures]) -> list[PeerStanding]:
    """Each unit's standing in its peer group, ordered by rank (the not assessed last, by code)."""
    units = list(units)
    average = weighted_average(units)
    rates = sorted({u.rate for u in units if u.rate is not None}, reverse=True)
    # Competition ranking: a unit's rank is one more than the number of units strictly ahead of it.
    ahead = {rate: sum(1 for u in units if u.rate is not None and u.rate > rate) for rate in rates}
    standings = []
    for unit in units:
        rate = unit.rate
        if rate is None or average is None:
            standings.append(PeerStanding(unit.unit_code, rate, average, Standing.NOT_ASSESSED, None))
            continue
        standing = Standing.AT_OR_ABOVE if rate >= average else Standing.BELOW
        standings.append(PeerStanding(unit.unit_code, rate, average, standing, ahead[rate] + 1))
    return sorted(standings, key=lambda s: (s.rank is None, s.rank or 0, s.unit_code))
