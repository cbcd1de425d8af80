"""Every PostgreSQL advisory lock PIM takes, in one place, with what it protects. The ids are fixed
numbers: every process of every service must agree on them."""

from __future__ import annotations

MIGRATIONS = 7_431_001  # session lock of a migrating process: several services may start at once
PROJECTOR = 7_431_002  # live projector batches hold it shared; a rebuild's swap holds it exclusively
RECOMPUTE = 7_431_003  # the one projector instance recomputing derived rows: a group spans partitions


def alert_evaluation(unit_code: str, plan_year: int) -> str:
    """The key (hashed by `hashtextextended`) of the transaction lock one alerts evaluation of a unit and
    plan year holds, so several alerts instances never decide on the same open alerts at once."""
    return f"alerts/{unit_code}/{plan_year}"
