"""Reads what the rules need about one unit and plan year from the projector's read models."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from services.alerts.rules import IndicatorYear, ReportedTotal, ReportingMonth, Vote
from services.alerts.seasonal import Trajectory
from shared.events import Indicator, Role, plan_window
from shared.pace import PaceRules
from shared.responsibility import Tenure


@dataclass(frozen=True)
class UnitInfo:
    unit_code: str
    name: str
    committee: str
    parent_committee: str | None


@dataclass(frozen=True)
class UnitYearFacts:
    unit: UnitInfo
    plan_year: int
    indicators: list[IndicatorYear]
    votes: list[Vote]
    tenures: list[Tenure]
    version: int  # the highest progress version behind these facts


# The peer average and standing of each unit's latest report, per plan year, as one comparable string.
PEER_STATE = """
    SELECT unit_code, plan_year, string_agg(indicator || '=' || coalesce(peer_average::text, '-') || '/'
        || coalesce(standing, '-'), ',' ORDER BY indicator) AS peer_state
    FROM unit_progress GROUP BY unit_code, plan_year"""


async def peer_state(conn: asyncpg.Connection, unit_code: str, plan_year: int) -> str:
    state: str | None = await conn.fetchval(
        f"SELECT peer_state FROM ({PEER_STATE}) s WHERE unit_code = $1 AND plan_year = $2", unit_code, plan_year
    )
    return state or ""


# Every (unit, plan year) with a target, figures or a confidence vote, and the highest version of its facts.
FACT_VERSIONS = """
    SELECT unit_code, plan_year, max(version) AS version FROM (
        SELECT unit_code, plan_year, max(version) AS version FROM unit_progress_history WHERE category = ''
        GROUP BY 1, 2
        UNION ALL SELECT unit_code, extract(year FROM vote_date)::int, max(position) FROM confidence_votes GROUP BY 1, 2
        UNION ALL SELECT unit_code, plan_year, 0 FROM targets
    ) facts GROUP BY unit_code, plan_year"""


async def units_and_years(conn: asyncpg.Connection) -> list[tuple[str, int]]:
    rows = await conn.fetch(f"SELECT unit_code, plan_year FROM ({FACT_VERSIONS}) f ORDER BY 1, 2")
    return [(r["unit_code"], r["plan_year"]) for r in rows]


async def stale_evaluations(conn: asyncpg.Connection, today: dt.date) -> list[tuple[str, int]]:
    """Every (unit, plan year) with a target, figures or a confidence vote whose facts or peer standing changed
    since its last evaluation, or that was last evaluated on another date (deadline rules move with the clock)."""
    rows = await conn.fetch(
        f"SELECT l.unit_code, l.plan_year FROM ({FACT_VERSIONS}) l"
        " LEFT JOIN alert_evaluations e USING (unit_code, plan_year)"
        f" LEFT JOIN ({PEER_STATE}) p USING (unit_code, plan_year)"
        " WHERE e.version IS NULL OR e.version < l.version OR e.evaluated_on <> $1"
        " OR coalesce(p.peer_state, '') <> e.peer_state ORDER BY 1, 2",
        today,
    )
    return [(r["unit_code"], r["plan_year"]) for r in rows]


async def load_facts(conn: asyncpg.Connection, unit_code: str, plan_year: int, rules: PaceRules) -> UnitYearFacts:
    unit_row = await conn.fetchrow(
        "SELECT u.unit_code, u.name, u.committee, p.committee AS parent_committee"
        " FROM units u LEFT JOIN units p ON p.unit_code = u.parent_code WHERE u.unit_code = $1",
        unit_code,
    )
    unit = (
        UnitInfo(unit_code, unit_row["name"], unit_row["committee"], unit_row["parent_committee"])
        if unit_row is not None
        else UnitInfo(unit_code, unit_code, "unassigned", None)
    )
    targets = {
        r["indicator"]: r["amount"]
        for r in await conn.fetch(
            "SELECT indicator, amount FROM targets WHERE unit_code = $1 AND plan_year = $2", unit_code, plan_year
        )
    }
    history = await conn.fetch(
        "SELECT h.indicator, h.plan_year, h.as_of, h.target, h.actual_ytd, h.rate, h.expected_pace,"
        " s.average AS peer_average,"
        " s.standing, h.status, h.version FROM unit_progress_history h"
        " LEFT JOIN unit_standing_history s USING (unit_code, indicator, plan_year, as_of)"
        " WHERE h.unit_code = $1 AND h.plan_year <= $2 AND h.category = '' ORDER BY h.indicator, h.plan_year, h.as_of",
        unit_code,
        plan_year,
    )
    points: dict[str, list[ReportedTotal]] = defaultdict(list)
    past: dict[tuple[str, int], list[tuple[dt.date, Decimal]]] = defaultdict(list)
    version = 0
    for r in history:
        if r["plan_year"] == plan_year:
            # The plan the projector held the latest figures to (the one in force on their date), not a
            # revision decided later: the summary's "x / y tỷ đồng" is then the rate's own quotient.
            targets[r["indicator"]] = r["target"]
            points[r["indicator"]].append(
                ReportedTotal(
                    r["as_of"],
                    r["actual_ytd"],
                    r["rate"],
                    r["expected_pace"],
                    r["peer_average"],
                    r["standing"],
                    r["status"],
                )
            )
            version = max(version, r["version"])
        else:
            past[(r["indicator"], r["plan_year"])].append((r["as_of"], r["actual_ytd"]))
    reporting: dict[str, list[ReportingMonth]] = defaultdict(list)
    for r in await conn.fetch(
        "SELECT indicator, period_end, due_on, received_on FROM reporting_periods"
        " WHERE unit_code = $1 AND plan_year = $2 ORDER BY indicator, period_end",
        unit_code,
        plan_year,
    ):
        reporting[r["indicator"]].append(ReportingMonth(r["period_end"], r["due_on"], r["received_on"]))

    indicators = []
    for indicator in Indicator:
        if indicator.value not in targets and indicator.value not in points:
            continue
        trajectories = tuple(
            Trajectory(year, tuple(values)) for (name, year), values in sorted(past.items()) if name == indicator.value
        )
        indicators.append(
            IndicatorYear(
                unit_code,
                indicator,
                plan_year,
                targets.get(indicator.value),
                tuple(points[indicator.value]),
                tuple(reporting[indicator.value]),
                trajectories,
                rules.pace(indicator, plan_year, plan_window(indicator, plan_year)[1]),
            )
        )
    tenures = [
        Tenure(r["leader_id"], r["leader_name"], Role(r["role"]), r["indicator"], r["start_date"], r["end_date"])
        for r in await conn.fetch(
            "SELECT leader_id, leader_name, role, indicator, start_date, end_date FROM tenures"
            " WHERE unit_code = $1 AND start_date IS NOT NULL",
            unit_code,
        )
    ]
    names = {t.leader_id: t.leader_name for t in tenures}
    # Each leader's latest vote of the year, and the newest position among all of them (a window, evaluated
    # before DISTINCT ON: every vote of the year counts), in one read.
    vote_rows = await conn.fetch(
        "SELECT DISTINCT ON (leader_id) leader_id, vote_date, voters, low, band, max(position) OVER () AS version"
        " FROM confidence_votes WHERE unit_code = $1 AND extract(year FROM vote_date) = $2"
        " ORDER BY leader_id, vote_date DESC, position DESC",
        unit_code,
        plan_year,
    )
    votes = [
        Vote(r["leader_id"], names.get(r["leader_id"]), r["vote_date"], r["voters"], r["low"], r["band"])
        for r in vote_rows
    ]
    vote_version = max((r["version"] for r in vote_rows), default=0)
    return UnitYearFacts(unit, plan_year, indicators, votes, tenures, max(version, vote_version))
