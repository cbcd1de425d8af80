"""What goes into the monthly board pack, read from the projector's read models: the group's lists, a page
per unit below the average, a scorecard per leader answerable for one, the alerts open on the pack's date
(from the steps the alerts service published), and where every figure came from. Computes no rate,
average, standing or gap of its own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

import asyncpg

from services.projector.alerts_then import AlertStep, AlertThen, alerts_open_on
from services.projector.board_pack.sources import Notes, plan_note, year_to_date_note
from services.projector.head_score_inputs import head_scores
from services.projector.head_scores import DEFAULT_SCHEME, HeadScore, ScoringScheme, periods_of
from services.projector.reporting_on_time import GroupReporting, UnitReporting, reporting
from services.projector.standings import GroupStandings, UnitStanding, plan_years_on, standings
from services.projector.touched import ProgressKey
from services.projector.unit_record import leader_reviews
from shared.display import vnd
from shared.events import Indicator, plan_window


@dataclass(frozen=True)
class ChartPoint:
    as_of: dt.date
    rate: Decimal | None
    expected_pace: Decimal


@dataclass
class UnitPage:
    unit: UnitStanding
    group: GroupStandings
    status: str | None
    expected_pace: Decimal | None
    pace_decision: str | None  # the unit's own milestones the pace came from; None: the indicator's curve
    history: list[ChartPoint]
    stints: list[dict[str, Any]]  # leader_accountability rows, heads then deputies in charge
    alerts: list[AlertThen]
    committee: str
    plan_note: int
    actual_note: int
    review: list[dict[str, Any]] = field(default_factory=list)  # review_timeline rows by then, oldest first

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
    alerts: list[AlertThen]
    votes: list[dict[str, Any]]
    months_behind: int  # over those stints, from the projector's leader_scorecards (the dashboards' too)
    promises_kept: int = 0  # their commitments the figures found kept, by the pack's date
    promises_missed: int = 0
    conclusions: list[dict[str, Any]] = field(default_factory=list)  # on the reviews asked of them
    # the plan year's quarters begun by the pack's date: (score, the pack's date when the quarter is not over)
    scores: list[tuple[HeadScore, dt.date | None]] = field(default_factory=list)


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
    alerts: list[AlertThen] = field(default_factory=list)  # open on `as_of`, of the plan year or of no indicator
    # The other plan years open on `as_of` (each with its window's last day): in January, the previous
    # year's disbursement is measured for the last time; the pack says so and how to get that year's.
    other_years: list[tuple[int, dt.date]] = field(default_factory=list)
    list_notes: dict[str, tuple[int, int]] = field(default_factory=dict)  # unit → (plan note, actual note)
    average_notes: dict[str, int] = field(default_factory=dict)  # group → its average's note
    # Reporting on time as of `as_of`, the indicator of its own (`reporting_on_time.py`): per group, per unit.
    reporting: dict[str, GroupReporting] = field(default_factory=dict)
    unit_reporting: dict[str, UnitReporting] = field(default_factory=dict)


async def read_pack(
    conn: asyncpg.Connection,
    as_of: dt.date,
    indicator: str,
    group: str | None,
    known_on: dt.date | None,
    plan_year: int | None = None,
    scheme: ScoringScheme = DEFAULT_SCHEME,
) -> Pack | None:
    """The pack as `conn` reads the read models (live, or a known-on workspace), of `plan_year` (default: the
    newest open on `as_of`); None without standings."""
    years = await plan_years_on(conn, indicator, as_of)
    year = plan_year or (years[0] if years else None)
    if year is None:
        return None
    groups = await standings(conn, as_of, indicator, year, group)
    if not groups:
        return None
    notes = Notes()
    alerts = await _alerts_open(conn, as_of, year, known_on)
    pack = Pack(as_of, known_on, indicator, year, groups, [], [], notes, alerts)
    pack.other_years = [(other, plan_window(Indicator(indicator), other)[1]) for other in years if other != year]
    for record in await reporting(conn, as_of, indicator, year, group):
        pack.reporting[record.group_id] = record
        pack.unit_reporting.update((u.unit_code, u) for u in record.units)
    for item in groups:
        for lst in item.lists:
            for unit in (*lst.at_or_above, *lst.below):
                key = ProgressKey(unit.unit_code, indicator, year)
                pack.list_notes[unit.unit_code] = (
                    await plan_note(conn, notes, key, as_of, known_on, unit.plan_assigned_by),
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
    scores = await _quarter_scores(conn, pack, scheme) if leaders else {}
    for leader_id, name in leaders.items():
        pack.leaders.append(await _scorecard(conn, pack, leader_id, name, scores.get(leader_id, [])))
    return pack


async def _alerts_open(
    conn: asyncpg.Connection, as_of: dt.date, plan_year: int, known_on: dt.date | None
) -> list[AlertThen]:
    """The alerts open on `as_of` (of `plan_year`, or about a leader), from the steps published by then."""
    rows = await conn.fetch(
        f"SELECT {', '.join(f.name for f in fields(AlertStep))} FROM alert_timeline"
        " WHERE $1::date IS NULL OR known_on <= $1",
        known_on,
    )
    opened = alerts_open_on([AlertStep(*r) for r in rows], as_of)
    return [a for a in opened if a.plan_year == plan_year or a.indicator is None]


async def _unit_page(conn: asyncpg.Connection, pack: Pack, group: GroupStandings, unit: UnitStanding) -> UnitPage:
    history = await conn.fetch(
        "SELECT as_of, rate, expected_pace, status, pace_decision FROM unit_progress_history"
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
        last["pace_decision"] if last else None,
        [ChartPoint(r["as_of"], r["rate"], r["expected_pace"]) for r in history], [dict(s) for s in stints],
        [a for a in pack.alerts if a.unit_code == unit.unit_code], committee or "", plan, actual,
        await _review(conn, pack, unit.unit_code),
    )  # fmt: skip


# The review steps of a unit's alerts of the pack's indicator and plan year, as they stood on the pack's date
# (and as known on its meeting date): asked, explained, each promise's verdict, the conclusion.
_REVIEW_THEN = """
SELECT r.* FROM review_timeline r
WHERE r.unit_code = $1 AND r.on_date <= $2 AND ($3::date IS NULL OR r.known_on <= $3)
  AND EXISTS (SELECT 1 FROM alert_timeline t WHERE t.fingerprint = r.fingerprint AND t.event_type = 'AlertRaised'
              AND t.plan_year = $4 AND t.indicator = $5)
ORDER BY r.on_date, r.position
"""


async def _review(conn: asyncpg.Connection, pack: Pack, unit_code: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(_REVIEW_THEN, unit_code, pack.as_of, pack.known_on, pack.plan_year, pack.indicator)
    return [dict(r) for r in rows]


async def _quarter_scores(
    conn: asyncpg.Connection, pack: Pack, scheme: ScoringScheme
) -> dict[str, list[tuple[HeadScore, dt.date | None]]]:
    """Every person's score for each quarter of the year begun by the pack's date, as the read models stand in
    this workspace (a running quarter to the pack's date): one reading per quarter for all of them."""
    scores: dict[str, list[tuple[HeadScore, dt.date | None]]] = {}
    for period in periods_of(pack.plan_year, scheme):
        if len(period.name) == 7 and period.first <= pack.as_of:  # quarters (`2025-Q3`): a month's is too short
            running = pack.as_of if period.last > pack.as_of else None
            for made in await head_scores(conn, period, pack.as_of, scheme, known_on=pack.known_on):
                if made.score is not None:
                    scores.setdefault(made.leader_id, []).append((made, running))
    return scores


async def _scorecard(
    conn: asyncpg.Connection, pack: Pack, leader_id: str, name: str,
    scores: list[tuple[HeadScore, dt.date | None]],
) -> Scorecard:  # fmt: skip
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
    reviews = await leader_reviews(conn, leader_id, pack.as_of, pack.known_on)
    return Scorecard(
        leader_id, name, [dict(s) for s in stints], [a for a in pack.alerts if a.responsible_leader_id == leader_id],
        [dict(v) for v in votes], months_behind or 0, reviews.kept, reviews.missed, reviews.conclusions, scores,
    )  # fmt: skip
