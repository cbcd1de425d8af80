"""The Ministry's monthly lists as the projector keeps them: per assessment group, as of a date, the
weighted average, the counts, and the at-or-above / below / not-assessed lists with each unit's rate and
rank. Read-only over the projector's views (`assessment_totals`, `assessment_standings`); nothing here
computes a rate, an average or a rank of its own. Shared by `pim standings`, `GET /v1/standings` and the
board's screens."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from decimal import Decimal

import asyncpg

from shared.events import Indicator, plan_window
from shared.money import plain_json_value


@dataclass(frozen=True)
class UnitStanding:
    unit_code: str
    name: str
    list_id: str
    reported: bool  # false: no report yet, counted with 0
    figures_as_of: dt.date  # the date of the figures it stands with (its latest report by then)
    plan: Decimal | None
    basis: Decimal | None  # the plan it is assessed on; None: not assessed
    actual: Decimal
    rate: Decimal | None
    standing: str  # at_or_above | below | not_assessed
    rank: int | None  # in the group
    list_rank: int | None  # in its list
    not_assessed_reason: str | None  # no_plan | late_supplement
    plan_assigned_by: str  # whose plan it is ranked on: prime_minister | province


@dataclass(frozen=True)
class StandingList:
    list_id: str
    name: str
    at_or_above: list[UnitStanding] = field(default_factory=list)
    below: list[UnitStanding] = field(default_factory=list)


@dataclass(frozen=True)
class GroupStandings:
    group_id: str
    name: str
    indicator: str
    plan_year: int
    as_of: dt.date  # the group's latest date on or before the date asked for
    average: Decimal | None
    total_basis: Decimal | None
    total_actual: Decimal | None
    members: int
    assessed: int
    no_report: int
    not_assessed: list[UnitStanding]
    lists: list[StandingList]
    plan_assigned_by: str = "prime_minister"  # whose plans it ranks on where a member has both

    @property
    def at_or_above_count(self) -> int:
        return sum(len(lst.at_or_above) for lst in self.lists)

    @property
    def below_count(self) -> int:
        return sum(len(lst.below) for lst in self.lists)


# A unit's name on the list's date (`s.as_of`): a unit renamed later keeps its name in earlier lists.
NAME_ON = (
    "SELECT v.name FROM unit_versions v WHERE v.unit_code = s.unit_code AND v.in_force_from <= s.as_of"
    " ORDER BY v.in_force_from DESC, v.position DESC LIMIT 1"
)


async def plan_years_on(conn: asyncpg.Connection, indicator: str, as_of: dt.date) -> list[int]:
    """The plan years whose lists a date has, newest first: every year with standings by then whose window
    holds the date — in January, disbursement's previous plan year is measured for the last time while the
    new one has begun (the Ministry published both on 31 January 2026) — else the newest with standings."""
    years = [
        r["plan_year"]
        for r in await conn.fetch(
            "SELECT DISTINCT plan_year FROM assessment_totals WHERE indicator = $1 AND as_of <= $2 ORDER BY 1 DESC",
            indicator,
            as_of,
        )
    ]
    windows = {year: plan_window(Indicator(indicator), year) for year in years}
    open_then = [year for year in years if windows[year][0] <= as_of <= windows[year][1]]
    return open_then or years[:1]


async def standings(
    conn: asyncpg.Connection, as_of: dt.date, indicator: str, plan_year: int, group_id: str | None = None
) -> list[GroupStandings]:
    """Every group's standings (or `group_id`'s) on its latest date on or before `as_of`, in config order."""
    heads = await conn.fetch(
        "SELECT DISTINCT ON (g.ordinal, t.group_id) t.*, g.name, g.plan_assigned_by FROM assessment_totals t"
        " JOIN assessment_groups g USING (group_id)"
        " WHERE t.indicator = $1 AND t.plan_year = $2 AND t.as_of <= $3 AND ($4::text IS NULL OR t.group_id = $4)"
        " ORDER BY g.ordinal, t.group_id, t.as_of DESC",
        indicator,
        plan_year,
        as_of,
        group_id,
    )
    result = []
    for head in heads:
        if not head["members"]:
            continue
        lists = [
            StandingList(r["list_id"], r["name"])
            for r in await conn.fetch(
                "SELECT list_id, name FROM assessment_lists WHERE group_id = $1 ORDER BY ordinal", head["group_id"]
            )
        ]
        by_id = {lst.list_id: lst for lst in lists}
        not_assessed: list[UnitStanding] = []
        # One group and date per query: the view's ranks are computed over just that group's members.
        for r in await conn.fetch(
            "SELECT s.*, n.name FROM assessment_standings s"
            f" LEFT JOIN LATERAL ({NAME_ON}) n ON true"
            " WHERE s.group_id = $1 AND s.indicator = $2 AND s.plan_year = $3 AND s.as_of = $4"
            " ORDER BY s.rank NULLS LAST, s.unit_code",
            head["group_id"],
            indicator,
            plan_year,
            head["as_of"],
        ):
            unit = UnitStanding(
                r["unit_code"], r["name"] or r["unit_code"], r["list_id"], r["reported"], r["figures_as_of"],
                r["plan"], r["basis"], r["actual"], r["rate"], r["standing"], r["rank"], r["list_rank"],
                r["not_assessed_reason"], r["plan_assigned_by"],
            )  # fmt: skip
            if unit.standing == "not_assessed":
                not_assessed.append(unit)
            else:
                target = by_id.get(unit.list_id) or lists[0]
                (target.at_or_above if unit.standing == "at_or_above" else target.below).append(unit)
        result.append(
            GroupStandings(
                head["group_id"],
                head["name"],
                indicator,
                plan_year,
                head["as_of"],
                head["average"],
                head["total_basis"],
                head["total_actual"],
                head["members"],
                head["assessed"],
                head["no_report"],
                not_assessed,
                lists,
                head["plan_assigned_by"],
            )
        )
    return result


def standings_json(groups: list[GroupStandings]) -> list[dict[str, object]]:
    """The standings as JSON objects: money and rates exact, as decimal strings."""
    result = []
    for group in groups:
        data = asdict(group)
        data["at_or_above_count"], data["below_count"] = group.at_or_above_count, group.below_count
        result.append(plain_json_value(data))
    return result  # type: ignore[return-value]
