"""Reporting on time, the indicator: per assessment group as of a date, each member's months due, received
and received by their due day, its rate (on time / due) and rank, and the group's rate. Read-only over the
projector's `reporting_on` function (migration 0028), which every reader counts through; nothing here
counts or divides. Shared by `GET /v1/reporting`, `pim reporting` and the board pack."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import Decimal

import asyncpg

from shared.standings import plain_json_value


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


# The members on the date (the hierarchy of that day; not merged or dissolved by then) with months due,
# ranked within each group by their rate, with the group's rate beside.
_REPORTING = """
SELECT m.group_id, g.name AS group_name, r.unit_code, coalesce(u.name, r.unit_code) AS name,
       r.expected, r.received, r.on_time, r.received - r.on_time AS late, r.expected - r.received AS missing,
       r.on_time::numeric / r.expected AS rate,
       rank() OVER (PARTITION BY m.group_id ORDER BY r.on_time::numeric / r.expected DESC) AS rank,
       sum(r.expected) OVER (PARTITION BY m.group_id)::bigint AS group_expected,
       sum(r.on_time) OVER (PARTITION BY m.group_id)::bigint AS group_on_time,
       sum(r.on_time) OVER (PARTITION BY m.group_id) / sum(r.expected) OVER (PARTITION BY m.group_id) AS group_rate
FROM reporting_on($1) r
JOIN assessment_members m ON m.unit_code = r.unit_code AND $1 >= m.member_from
    AND (m.member_until IS NULL OR $1 < m.member_until)
JOIN assessment_groups g ON g.group_id = m.group_id AND r.indicator = ANY (g.indicators)
LEFT JOIN units u ON u.unit_code = r.unit_code
WHERE r.indicator = $2 AND r.plan_year = $3 AND ($4::text IS NULL OR m.group_id = $4)
  AND NOT EXISTS (SELECT FROM unit_mergers x WHERE x.predecessor_code = r.unit_code AND x.effective_date <= $1)
  AND NOT EXISTS (SELECT FROM unit_dissolutions x WHERE x.unit_code = r.unit_code AND x.effective_date <= $1)
ORDER BY g.ordinal, m.group_id, rank, r.unit_code
"""


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
