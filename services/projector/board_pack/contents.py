"""What goes into the monthly board pack, read from the projector's read models (and the alerts table):
the group's lists, a page per unit below the average, a scorecard per leader answerable for one, and
where every figure came from. Computes no rate, average, standing or gap of its own."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg

from services.projector.board_pack.sources import Notes, plan_note, year_to_date_note
from services.projector.touched import ProgressKey
from shared.display import vnd
from shared.standings import GroupStandings, UnitStanding, latest_plan_year, standings


@dataclass(frozen=True)
class Point:
    as_of: dt.date
    rate: Decimal | None
    expected_pace: Decimal


@dataclass
class UnitPage:
    unit: UnitStanding
    group: GroupStandings
    status: str | None
    expected_pace: Decimal | None
    history: list[Point]
    stints: list[dict[str, Any]]  # leader_accountability rows, heads then deputies in charge
    alerts: list[dict[str, Any]]
    committee: str
    plan_note: int
    actual_note: int

    @property
    def behind_average(self) -> Decimal | None:
        """The unit's rate less its group's average, as the projector keeps both."""
        if self.unit.rate is None or self.group.average is None:
            return None
        return self.unit.rate - self.group.average


@dataclass
class Scorecard:
    leader_id: str
    name: str
    stints: list[dict[str, Any]]  # every stint of the leader's in the plan year, any unit or indicator
    alerts: list[dict[str, Any]]
    votes: list[dict[str, Any]]
    months_behind: int  # over those stints, from the projector's leader_scorecards (the dashboards' too)


@dataclass
class Pack:
    as_of: dt.date
    known_on: dt.date | None
    indicator: str
    plan_year: int
    groups: list[GroupStandings]
    units: list[UnitPage]
    leaders: list[Scorecard]
    notes: Notes
    list_notes: dict[str, tuple[int, int]] = field(default_factory=dict)  # unit → (plan note, actual note)
    average_notes: dict[str, int] = field(default_factory=dict)  # group → its average's note


async def read_pack(
    conn: asyncpg.Connection, as_of: dt.date, indicator: str, group: str | None, known_on: dt.date | None
) -> Pack | None:
    """The pack as `conn` reads the read models (live, or a known-on workspace); None without standings."""
    year = await latest_plan_year(conn, indicator, as_of)
    if year is None:
        return None
    groups = await standings(conn, as_of, indicator, year, group)
    if not groups:
        return None
    notes = Notes()
    pack = Pack(as_of, known_on, indicator, year, groups, [], [], notes)
    for item in groups:
        for lst in item.lists:
            for unit in (*lst.at_or_above, *lst.below):
                key = ProgressKey(unit.unit_code, indicator, year)
                pack.list_notes[unit.unit_code] = (
                    await plan_note(conn, notes, key, known_on),
                    await year_to_date_note(conn, notes, key, unit.figures_as_of, unit.actual, known_on),
                )
    for item in groups:
        pack.average_notes[item.group_id] = notes.cite(
            ("average", item.group_id, item.as_of),
            f"Bình quân / average — {item.name}, {item.as_of:%d/%m/%Y}",
            [f"{vnd(item.total_actual)} / {vnd(item.total_basis)}: tổng lũy kế trên tổng kế hoạch của {item.assessed}"
             f" đơn vị được đánh giá (trong {item.members}; {item.no_report} chưa báo cáo, tính bằng 0) / total year"
             f" to date over total plan of the {item.assessed} members assessed (of {item.members}; {item.no_report}"
             " without a report, counted with 0) — each member's plan and year to date are noted in the lists"],
        )  # fmt: skip
    seen: set[str] = set()
    for item in groups:
        for lst in item.lists:
            for unit in lst.below:
                if unit.unit_code not in seen:
                    seen.add(unit.unit_code)
                    pack.units.append(await _unit_page(conn, pack, item, unit))
    leaders: dict[str, str] = {}
    for page in pack.units:
        for stint in page.stints:
            if stint["leader_id"] is not None:
                leaders.setdefault(stint["leader_id"], stint["leader_name"])
    for leader_id, name in leaders.items():
        pack.leaders.append(await _scorecard(conn, pack, leader_id, name))
    return pack


def _alerts_then(known_on: dt.date | None) -> str:
    """The alerts open then: now, or on `known_on` by their recorded lifecycle."""
    if known_on is None:
        return "a.status = 'open'"
    return (
        "(a.raised_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date <= $3"
        " AND (a.resolved_at IS NULL OR (a.resolved_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date > $3)"
    )


async def _alerts(conn: asyncpg.Connection, column: str, value: str, pack: Pack) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT a.*, u.name AS unit_display FROM alerts a LEFT JOIN units u USING (unit_code)"
        f" WHERE a.{column} = $1 AND (a.plan_year = $2 OR a.indicator IS NULL) AND {_alerts_then(pack.known_on)}"
        " ORDER BY a.severity DESC, a.as_of, a.rule",
        value,
        pack.plan_year,
        *([pack.known_on] if pack.known_on else []),
    )
    return [{**dict(r), "evidence": json.loads(r["evidence"]) if isinstance(r["evidence"], str) else r["evidence"]}
            for r in rows]  # fmt: skip


async def _unit_page(conn: asyncpg.Connection, pack: Pack, group: GroupStandings, unit: UnitStanding) -> UnitPage:
    history = await conn.fetch(
        "SELECT as_of, rate, expected_pace, status FROM unit_progress_history"
        " WHERE (unit_code, indicator, plan_year, category) = ($1, $2, $3, '') AND as_of <= $4 ORDER BY as_of",
        unit.unit_code,
        pack.indicator,
        pack.plan_year,
        unit.figures_as_of,
    )
    stints = await conn.fetch(
        "SELECT * FROM leader_accountability WHERE (unit_code, indicator, plan_year) = ($1, $2, $3)"
        " AND stint_start <= $4 ORDER BY answerable_as DESC, stint_start",
        unit.unit_code,
        pack.indicator,
        pack.plan_year,
        pack.as_of,
    )
    committee = await conn.fetchval("SELECT committee FROM units WHERE unit_code = $1", unit.unit_code)
    plan, actual = pack.list_notes[unit.unit_code]
    last = history[-1] if history else None
    return UnitPage(
        unit, group, last["status"] if last else None, last["expected_pace"] if last else None,
        [Point(r["as_of"], r["rate"], r["expected_pace"]) for r in history], [dict(s) for s in stints],
        await _alerts(conn, "unit_code", unit.unit_code, pack), committee or "", plan, actual,
    )  # fmt: skip


async def _scorecard(conn: asyncpg.Connection, pack: Pack, leader_id: str, name: str) -> Scorecard:
    stints = await conn.fetch(
        "SELECT l.*, u.name AS unit_name FROM leader_accountability l LEFT JOIN units u USING (unit_code)"
        " WHERE l.leader_id = $1 AND l.plan_year = $2"
        " ORDER BY l.stint_start, l.unit_code, l.indicator, l.answerable_as",
        leader_id,
        pack.plan_year,
    )
    months_behind = await conn.fetchval(
        "SELECT months_behind FROM leader_scorecards WHERE leader_id = $1 AND plan_year = $2", leader_id, pack.plan_year
    )
    votes = await conn.fetch(
        "SELECT v.*, u.name AS unit_name FROM confidence_votes v LEFT JOIN units u USING (unit_code)"
        " WHERE v.leader_id = $1 AND v.vote_date <= $2 ORDER BY v.vote_date",
        leader_id,
        pack.known_on or pack.as_of,
    )
    return Scorecard(
        leader_id, name, [dict(s) for s in stints], await _alerts(conn, "responsible_leader_id", leader_id, pack),
        [dict(v) for v in votes], months_behind or 0,
    )  # fmt: skip
