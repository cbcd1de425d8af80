"""Alert rules as pure functions over a unit's progress: what is wrong, how badly, with what evidence."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

BELOW_PACE = "below_pace"


@dataclass(frozen=True)
class ProgressSnapshot:
    unit_code: str
    indicator: str
    plan_year: int
    as_of: dt.date
    target: Decimal | None
    actual_ytd: Decimal
    rate: Decimal | None
    expected_pace: Decimal
    status: str


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Literal["warning", "critical"]
    evidence: dict[str, Any]


def fingerprint(unit_code: str, indicator: str, rule: str, plan_year: int) -> str:
    """One open alert at a time per unit, indicator, rule and plan year."""
    return f"{unit_code}/{indicator}/{rule}/{plan_year}"


def below_pace(progress: ProgressSnapshot, tolerance: Decimal) -> Finding | None:
    """Flags a unit whose rate trails the expected pace by more than `tolerance`."""
    if progress.rate is None or progress.status not in ("behind", "critical"):
        return None
    return Finding(
        rule=BELOW_PACE,
        severity="critical" if progress.status == "critical" else "warning",
        evidence={
            "as_of": progress.as_of.isoformat(),
            "target": str(progress.target),
            "actual_ytd": str(progress.actual_ytd),
            "rate": str(progress.rate),
            "expected_pace": str(progress.expected_pace),
            "tolerance": str(tolerance),
        },
    )
