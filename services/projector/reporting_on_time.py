"""Reporting on time, the indicator: per assessment group as of a date, each member's months due, received
and received by their due day, its rate (on time / due) and rank, and the group's rate. Read-only over the
projector's `reporting_on` function (migration 0028), which every reader counts through; nothing here
counts or divides. Shared by `GET /v1/reporting`, `pim reporting` and the board pack."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import Decimal

import asyncpg

from shared.money import plain_json_value


@dataclass(frozen=True)
class UnitReporting:
    unit_code: str
    name: str
    expected: int  # months whose report was due by the date
    received: int  # of those, received by the date
    on_time: int  # of those, received by their due day
    late: int
    missing: int
    rate: Decimal  # on time / expected
    standing: str  # at_or_above | below the group's rate
    rank: int


@dataclass(frozen=True)
class GroupReporting:
    group_id: str
    name: str
    indicator: str
    plan_year: int
    as_of: dt.date
    expected: int
    on_time: int
    rate: Decimal  # the group's months on time / months due
    units: list[UnitReporting]


# The projector's function (migration 0028): every member on the date, ranked within each group.
_REPORTING = "SELECT * FROM reporting_standings($1, $2, $3, $4)"


async def reporting(
    conn: asyncpg.Connection, as_of: dt.date, indicator: str, plan_year: int, group_id: str | None = None
) -> list[GroupReporting]:
    """Every group's reporting record (or `group_id`'s) as of `as_of`, in config order."""
    groups: dict[str, GroupReporting] = {}
    for r in await conn.fetch(_REPORTING, as_of, indicator, plan_year, group_id):
        group = groups.get(r["group_id"])
        if group is None:
            group = groups[r["group_id"]] = GroupReporting(
                r["group_id"], r["group_name"], indicator, plan_year, as_of, r["group_expected"],
                r["group_on_time"], r["group_rate"], [],
            )  # fmt: skip
        standing = "at_or_above" if r["rate"] >= r["group_rate"] else "below"
        group.units.append(
            UnitReporting(
                unit_code=r["unit_code"], name=r["name"], expected=r["expected"], received=r["received"],
                on_time=r["on_time"], late=r["late"], missing=r["missing"], rate=r["rate"], standing=standing,
                rank=r["rank"],
            )
        )  # fmt: skip
    return list(groups.values())


def reporting_json(groups: list[GroupReporting]) -> list[dict[str, object]]:
    """As JSON objects: rates exact, as decimal strings."""
    return [plain_json_value(asdict(group)) for group in groups]  # type: ignore[misc]
