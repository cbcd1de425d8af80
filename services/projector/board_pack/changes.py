"""The pack's closing page under `--known-on`: what later reports and corrections changed, unit by unit —
the reports made known after the meeting date for dates up to the pack's, and each unit's rate and standing
then (the known-on workspace) and now (the live read models)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from services.projector.standings import GroupStandings, UnitStanding, standings


@dataclass(frozen=True)
class LaterReport:
    position: int
    category: str
    project_code: str
    as_of: dt.date
    amount: Decimal
    known_on: dt.date
    correction_reason: str | None


@dataclass(frozen=True)
class UnitChange:
    unit_code: str
    name: str
    then: UnitStanding | None
    now: UnitStanding | None
    reports: list[LaterReport]


def _members(groups: list[GroupStandings]) -> dict[str, UnitStanding]:
    return {
        u.unit_code: u
        for g in groups
        for u in (*(x for lst in g.lists for x in (*lst.at_or_above, *lst.below)), *g.not_assessed)
    }


async def changes_since(
    conn: asyncpg.Connection, then: list[GroupStandings], as_of: dt.date, known_on: dt.date, group: str | None
) -> list[UnitChange]:
    """Read on the live models: every unit of the groups whose reports or standing changed after `known_on`."""
    indicator, year = then[0].indicator, then[0].plan_year
    before, after = _members(then), _members(await standings(conn, as_of, indicator, year, group))
    later = await conn.fetch(
        "SELECT unit_code, position, category, project_code, as_of, amount, known_on, correction_reason FROM figures"
        " WHERE indicator = $1 AND plan_year = $2 AND as_of <= $3 AND known_on > $4 AND unit_code = ANY($5::text[])"
        " ORDER BY unit_code, as_of, position",
        indicator,
        year,
        as_of,
        known_on,
        sorted(before.keys() | after.keys()),
    )
    reports: dict[str, list[LaterReport]] = {}
    for r in later:
        reports.setdefault(r["unit_code"], []).append(
            LaterReport(r["position"], r["category"], r["project_code"], r["as_of"], r["amount"], r["known_on"],
                        r["correction_reason"])
        )  # fmt: skip
    result = []
    for code in sorted(before.keys() | after.keys(), key=lambda c: (after.get(c) or before[c]).name):
        old, new = before.get(code), after.get(code)
        shown = new or old
        assert shown is not None  # the code came from one of them
        moved = old is None or new is None or (old.rate, old.standing, old.rank) != (new.rate, new.standing, new.rank)
        if moved or code in reports:
            result.append(UnitChange(code, shown.name, old, new, reports.get(code, [])))
    return result
