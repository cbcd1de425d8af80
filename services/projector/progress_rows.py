"""Unit-progress history rows: the year to date per date and category, judged against target and pace.

Recomputed per (unit, indicator, plan year) from the date its facts changed on; rows before it are kept.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg

from services.projector.actuals import TOTAL, Figure, actuals
from services.projector.plans_in_force import PRIME_MINISTER, PROVINCE, KeyPlans, PaceDecision, PlanDecision
from services.projector.progress_rules import ProgressRules
from services.projector.touched import EVER, ProgressKey, key_columns
from shared.contracts import ProgressChanged
from shared.db import copy_rows_as_csv
from shared.events import Indicator, plan_window
from shared.pace import unit_pace

# The category a dissolved unit's handed-over year to date is counted in (it comes with no capital source).
HANDED_OVER = "other"

_KEYS = """
WITH keys AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) AS k(unit_code, indicator, plan_year)
)"""


# Each key's version (the newest fact every row of the key reflects: a plan decision, a merger into it) and
# the day a late supplement was first known; figures add their versions date by date.
_KEY_FACTS = f"""{_KEYS}
SELECT k.unit_code, k.indicator, k.plan_year,
       coalesce(greatest((SELECT max(h.position) FROM target_history h
                          WHERE (h.unit_code, h.indicator, h.plan_year) = (k.unit_code, k.indicator, k.plan_year)
                            AND ($4::date IS NULL OR h.known_on <= $4::date)),
                         (SELECT max(position) FROM unit_mergers WHERE successor_code = k.unit_code)),
                0) AS version,
       (SELECT min(h.known_on) FROM target_history h
        WHERE (h.unit_code, h.indicator, h.plan_year) = (k.unit_code, k.indicator, k.plan_year)
          AND h.late_supplement > 0 AND ($4::date IS NULL OR h.known_on <= $4::date)) AS late_since
FROM keys k
"""

# Every plan decision known on $4 (all when null) of each key's unit and of the units merged into it (with
# the merger date): which one is in force on a date is decided row by row (plans_in_force.py).
# The sources first, then each one's plans by its whole key: joined the other way round, the planner matched
# every key with every unit's plans of the same indicator and year before filtering by unit (250 keys ×
# every unit: 233,000 rows a chunk at 983 units, quadratic in the registry; the national bench found it).
_KEY_PLANS = f"""{_KEYS}, sources AS (
    SELECT unit_code, indicator, plan_year, unit_code AS source, NULL::date AS merged_on FROM keys
    UNION ALL
    SELECT k.unit_code, k.indicator, k.plan_year, m.predecessor_code, m.effective_date
    FROM keys k JOIN unit_mergers m ON m.successor_code = k.unit_code
)
SELECT s.unit_code, s.indicator, s.plan_year, s.source, s.merged_on,
       h.in_force_from, h.position, h.amount, h.late_supplement, h.assigned_by
FROM sources s
JOIN target_history h ON (h.unit_code, h.indicator, h.plan_year) = (s.source, s.indicator, s.plan_year)
WHERE $4::date IS NULL OR h.known_on <= $4::date
"""

# Each key's unit and the units merged into it (`source`), whose figures it adds to its own from the merger
# date (`consolidated`: only until its own first report from then on), with the date its rows are
# recomputed from.
_SOURCES = """
WITH keys AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $5::date[]) AS k(unit_code, indicator, plan_year, since)
), sources AS (
    SELECT unit_code, indicator, plan_year, since, unit_code AS source, NULL::date AS merged_on,
           false AS consolidated FROM keys
    UNION ALL
    SELECT k.unit_code, k.indicator, k.plan_year, k.since, m.predecessor_code, m.effective_date,
           m.successor_reports = 'consolidated' FROM keys k
    JOIN unit_mergers m ON m.successor_code = k.unit_code
)
"""

# The figures the rows from `since` on depend on, known on $4 (all when null): per line, those from the
# last date before `since` whose report is cumulative (it starts the running total afresh) on, or all.
_KEY_FIGURES = f"""{_SOURCES}
SELECT s.unit_code, s.indicator, s.plan_year, s.source, s.merged_on, s.consolidated, l.category, l.project_code,
       f.as_of, f.position,
       f.amount_kind = 'cumulative' AS cumulative, f.amount
FROM sources s
CROSS JOIN LATERAL (
    SELECT DISTINCT category, project_code FROM figures f
    WHERE (f.unit_code, f.indicator, f.plan_year) = (s.source, s.indicator, s.plan_year)
) l
CROSS JOIN LATERAL (
    SELECT coalesce((
        SELECT e.as_of FROM (
            SELECT DISTINCT ON (g.as_of) g.as_of, g.amount_kind FROM figures g
            WHERE (g.unit_code, g.indicator, g.plan_year, g.category, g.project_code)
                = (s.source, s.indicator, s.plan_year, l.category, l.project_code)
              AND g.as_of < s.since AND ($4::date IS NULL OR g.known_on <= $4::date)
            ORDER BY g.as_of DESC, g.position DESC
        ) e WHERE e.amount_kind = 'cumulative' LIMIT 1
    ), '-infinity'::date) AS start
) r
CROSS JOIN LATERAL (
    SELECT * FROM figures f
    WHERE (f.unit_code, f.indicator, f.plan_year, f.category, f.project_code)
        = (s.source, s.indicator, s.plan_year, l.category, l.project_code)
      AND f.as_of >= r.start AND ($4::date IS NULL OR f.known_on <= $4::date)
    OFFSET 0  -- by index, line by line, rather than a hash join over every figure
) f
"""

# The newest figure before `since` of each key (the figures above leave some of them out).
_EARLIER_NEWEST = f"""{_SOURCES}
SELECT s.unit_code, s.indicator, s.plan_year, max(f.position) AS position
FROM sources s JOIN figures f ON (f.unit_code, f.indicator, f.plan_year) = (s.source, s.indicator, s.plan_year)
WHERE f.as_of < s.since AND ($4::date IS NULL OR f.known_on <= $4::date)
GROUP BY 1, 2, 3
"""

# What dissolved units handed each key's unit, known on $4 (all when null): a part of their plan from the
# date, and a part of their year to date, carried as a cumulative figure of theirs on that date.
_KEY_HANDOVERS = f"""{_KEYS}
SELECT k.unit_code, k.indicator, k.plan_year, h.position, h.unit_code AS source, h.effective_date, h.plan,
       h.year_to_date, h.receivers_report = 'consolidated' AS consolidated
FROM keys k
JOIN unit_handovers h ON (h.receiver_code, h.indicator, h.plan_year) = (k.unit_code, k.indicator, k.plan_year)
WHERE $4::date IS NULL OR h.effective_date <= $4::date
"""

# Whose plan each unit's home group ranks on (the units of $1), by its latest home.
_HOME_PLAN_ASSIGNED_BY = """
SELECT DISTINCT ON (m.unit_code) m.unit_code, g.plan_assigned_by
FROM assessment_members m JOIN assessment_groups g USING (group_id)
WHERE m.home AND m.unit_code = ANY($1::text[]) ORDER BY m.unit_code, m.member_from DESC
"""

# Each key's own milestone decisions known on $4 (all when null).
_KEY_PACES = f"""{_KEYS}
SELECT k.unit_code, k.indicator, k.plan_year, m.position, m.decision_number, m.decision_date, m.milestones::text
FROM keys k
JOIN unit_milestones m USING (unit_code, indicator, plan_year)
WHERE $4::date IS NULL OR m.decision_date <= $4::date
"""

HISTORY_COLUMNS = (
    "unit_code", "indicator", "plan_year", "category", "as_of", "target", "comparable_target", "actual_ytd", "rate",
    "comparable_rate", "expected_pace", "gap_to_pace", "status", "version", "pace_decision",
)  # fmt: skip
_STATUS = HISTORY_COLUMNS.index("status")


ASSESSMENT_COLUMNS = (
    "unit_code", "indicator", "plan_year", "as_of", "plan", "comparable_plan", "late_supplemented", "actual",
    "reported", "plan_assigned_by", "province_plan", "province_comparable_plan",
)  # fmt: skip

# Each key's latest total row before the date it is recomputed from: what carries forward into the
# assessment rows on dates it did not report.
_PREVIOUS_TOTALS = """
SELECT DISTINCT ON (h.unit_code, h.indicator, h.plan_year) h.unit_code, h.indicator, h.plan_year, h.actual_ytd
FROM unnest($1::text[], $2::text[], $3::int[], $4::date[]) AS k(unit_code, indicator, plan_year, since)
JOIN unit_progress_history h USING (unit_code, indicator, plan_year)
WHERE h.category = '' AND h.as_of < k.since
ORDER BY h.unit_code, h.indicator, h.plan_year, h.as_of DESC
"""


async def recompute_progress(
    conn: asyncpg.Connection,
    since: Mapping[ProgressKey, dt.date],
    rules: ProgressRules,
    known_on: dt.date | None = None,
) -> list[ProgressChanged]:
    """Rewrite the progress history and the assessment rows of each key from the date its facts changed
    on (from the facts known on `known_on`: the board pack's workspace); return the current state of each."""
    keys = sorted(since)
    if not keys:
        return []
    arrays = (*key_columns(keys), [since[k] for k in keys])
    previous = {(r["unit_code"], r["indicator"], r["plan_year"]): r["actual_ytd"]
                for r in await conn.fetch(_PREVIOUS_TOTALS, *arrays)}  # fmt: skip
    computed = await compute_progress(conn, keys, rules, known_on=known_on, since=since, before=previous)
    for table in ("unit_progress_history", "assessment_rows"):
        await conn.execute(
            f"DELETE FROM {table} h USING unnest($1::text[], $2::text[], $3::int[], $4::date[]) AS k(u, i, y, since)"
            " WHERE (h.unit_code, h.indicator, h.plan_year) = (k.u, k.i, k.y) AND h.as_of >= k.since",
            *arrays,
        )
    await copy_rows_as_csv(conn, "unit_progress_history", HISTORY_COLUMNS, computed.records, empty_text=("category",))
    await copy_rows_as_csv(conn, "assessment_rows", ASSESSMENT_COLUMNS, computed.assessment)
    return [
        ProgressChanged(
            unit_code=unit, indicator=indicator, plan_year=year, as_of=as_of, status=status, version=version
        )
        for (unit, indicator, year), (as_of, status, version) in sorted(computed.latest.items())
    ]


@dataclass(frozen=True)
class Computed:
    records: list[tuple[Any, ...]]  # progress rows, in `HISTORY_COLUMNS` order
    latest: dict[tuple[str, str, int], tuple[dt.date, str, int]]  # each key's latest date, status, version
    assessment: list[tuple[Any, ...]]  # assessment rows, in `ASSESSMENT_COLUMNS` order (when asked for)


async def compute_progress(
    conn: asyncpg.Connection,
    keys: list[ProgressKey],
    rules: ProgressRules,
    known_on: dt.date | None,
    since: Mapping[ProgressKey, dt.date] | None = None,
    before: Mapping[tuple[str, str, int], Decimal] | None = None,
) -> Computed:
    """Progress rows of `keys`, from the facts known on `known_on` (all facts when None), on the dates from
    `since` on (all when None); with each key's latest date, status and version. With `before` (each key's
    year to date before `since`), also the keys' assessment rows from `since` on."""
    arrays = key_columns(keys)
    facts = {
        (r["unit_code"], r["indicator"], r["plan_year"]): r for r in await conn.fetch(_KEY_FACTS, *arrays, known_on)
    }
    handovers = await conn.fetch(_KEY_HANDOVERS, *arrays, known_on)  # plans and figures both read them
    plans = await fetch_key_plans(conn, arrays, known_on, handovers)
    # Where a unit has two plans, its progress is on the one its home group ranks it on: one rate per unit.
    home_plan = dict(await conn.fetch(_HOME_PLAN_ASSIGNED_BY, arrays[0]))
    starts = [EVER if since is None else since[k] for k in keys]
    earlier = {
        (r["unit_code"], r["indicator"], r["plan_year"]): r["position"]
        for r in await conn.fetch(_EARLIER_NEWEST, *arrays, known_on, starts)
    }
    figures_of, merged = await fetch_key_figures(conn, keys, known_on, starts, handovers)
    records: list[tuple[Any, ...]] = []
    latest: dict[tuple[str, str, int], tuple[dt.date, str, int]] = {}
    paces: dict[tuple[str, int, dt.date], Decimal] = {}
    for key, key_figures in figures_of.items():
        first = EVER if since is None else since[ProgressKey(*key)]
        years_actuals = actuals(key[0], key_figures, merged.merged_on, merged.consolidated,
                                merged.carried_on(key, key_figures))  # fmt: skip
        versions = _versions_by_date(key_figures, {d for d, _ in years_actuals}, max(facts[key]["version"],
                                     earlier.get(key, 0)))  # fmt: skip
        prefer = home_plan.get(key[0], PRIME_MINISTER)
        held_to: DayBasis | None = None
        for (as_of, category), actual_ytd in sorted(years_actuals.items()):
            if as_of < first:
                continue  # unchanged: kept as it is
            version = versions[as_of]
            if held_to is None or held_to.as_of != as_of:  # once per date, not per category
                held_to = _day_basis(key, as_of, plans[key], prefer, rules, paces)
            records.append(_progress_row(key, category, actual_ytd, held_to, rules, version))
            if category == TOTAL and (key not in latest or latest[key][0] < as_of):
                latest[key] = (as_of, records[-1][_STATUS], version)
    assessment: list[tuple[Any, ...]] = []
    if before is not None:
        reported_on: dict[tuple[str, str, int], dict[dt.date, Decimal]] = defaultdict(dict)
        for record in records:
            if record[3] == TOTAL:
                reported_on[record[:3]][record[4]] = record[7]
        for key in facts:
            first = EVER if since is None else since[ProgressKey(*key)]
            assessment += _assessment_rows(key, first, reported_on[key], before.get(key), facts[key], plans[key])
    return Computed(records, latest, assessment)


@dataclass(frozen=True)
class MergedSources:
    """The units merged into the keys' units whose figures count in theirs: each one's merger date, and those
    a successor's reports consolidate."""

    merged_on: dict[str, dt.date]
    consolidated: set[str]

    def carried_on(self, key: tuple[str, str, int], figures: list[Figure]) -> set[dt.date]:
        """The merger dates in `key`'s plan window of the units whose figures it carries: dates of its rows
        even without a report of its own (what it carries then, so the total does not fall that day)."""
        start, end = plan_window(Indicator(key[1]), key[2])
        merger_dates = {self.merged_on[f.source] for f in figures if f.source != key[0]}
        return {day for day in merger_dates if start <= day <= end}


async def fetch_key_figures(
    conn: asyncpg.Connection,
    keys: list[ProgressKey],
    known_on: dt.date | None,
    starts: list[dt.date],
    handovers: list[asyncpg.Record] | None = None,
) -> tuple[dict[tuple[str, str, int], list[Figure]], MergedSources]:
    """The figures each key's rows from its start on depend on, known on `known_on` (all when None), and
    the merged-in sources' merger dates and kinds. `handovers`: the keys' `_KEY_HANDOVERS`, when read already."""
    figures_of: dict[tuple[str, str, int], list[Figure]] = defaultdict(list)
    merged = MergedSources({}, set())
    for r in await conn.fetch(_KEY_FIGURES, *key_columns(keys), known_on, starts):
        if r["merged_on"] is not None:
            merged.merged_on[r["source"]] = r["merged_on"]
            if r["consolidated"]:
                merged.consolidated.add(r["source"])
        figures_of[(r["unit_code"], r["indicator"], r["plan_year"])].append(
            Figure(r["source"], r["category"], r["project_code"], r["as_of"], r["position"], r["cumulative"],
                   r["amount"])
        )  # fmt: skip
    if handovers is None:
        handovers = await conn.fetch(_KEY_HANDOVERS, *key_columns(keys), known_on)
    for r in handovers:
        merged.merged_on[r["source"]] = r["effective_date"]
        if r["consolidated"]:
            merged.consolidated.add(r["source"])
        figures_of[(r["unit_code"], r["indicator"], r["plan_year"])].append(
            Figure(r["source"], HANDED_OVER, "", r["effective_date"], r["position"], True, r["year_to_date"])
        )
    return figures_of, merged


async def fetch_key_plans(
    conn: asyncpg.Connection,
    arrays: tuple[list[str], list[str], list[int]],
    known_on: dt.date | None,
    handovers: list[asyncpg.Record],
) -> defaultdict[tuple[str, str, int], KeyPlans]:
    """Each key's plan decisions known on `known_on` (all when None): its unit's, its predecessors', and the
    parts of plans dissolved units handed it (`handovers`)."""
    own: defaultdict[tuple[str, str, int], list[PlanDecision]] = defaultdict(list)
    merged: defaultdict[tuple[str, str, int], defaultdict[tuple[dt.date, str], list[PlanDecision]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for r in await conn.fetch(_KEY_PLANS, *arrays, known_on):
        key = (r["unit_code"], r["indicator"], r["plan_year"])
        decision = PlanDecision(r["in_force_from"], r["position"], r["amount"], r["late_supplement"], r["assigned_by"])
        (own[key] if r["merged_on"] is None else merged[key][r["merged_on"], r["source"]]).append(decision)
    for r in handovers:  # a dissolved unit's part, from its date
        key = (r["unit_code"], r["indicator"], r["plan_year"])
        stated = PlanDecision(r["effective_date"], r["position"], r["plan"], Decimal(0))
        merged[key][r["effective_date"], r["source"]].append(stated)
    plans: defaultdict[tuple[str, str, int], KeyPlans] = defaultdict(KeyPlans)
    paces: defaultdict[tuple[str, str, int], list[PaceDecision]] = defaultdict(list)
    for r in await conn.fetch(_KEY_PACES, *arrays, known_on):
        points = tuple((dt.date.fromisoformat(m["by"]), Decimal(m["share"])) for m in json.loads(r["milestones"]))
        paces[(r["unit_code"], r["indicator"], r["plan_year"])].append(
            PaceDecision(r["decision_date"], r["position"], r["decision_number"], points)
        )
    for key in own.keys() | merged.keys() | paces.keys():
        plans[key] = KeyPlans(
            tuple(sorted(own[key])),
            tuple((day, tuple(sorted(ds))) for (day, _), ds in sorted(merged[key].items())),
            tuple(sorted(paces[key])),
        )
    return plans


def _assessment_rows(
    key: tuple[str, str, int],
    first: dt.date,
    reported: Mapping[dt.date, Decimal],
    before: Decimal | None,
    fact: asyncpg.Record,
    plans: KeyPlans,
) -> list[tuple[Any, ...]]:
    """`ASSESSMENT_COLUMNS` rows of one key from `first` on: on each date it reported, and on the dates its
    plan changed without a report — the start of the plan year (a unit with a plan counts from then on,
    with 0 until it reports), a plan decided or revised, a late supplement's decision, a merger into it —
    carrying its year to date forward. `reported`: its year to date on its report dates from `first` on;
    `before`: the one before."""
    start, end = plan_window(Indicator(key[1]), key[2])
    late_since = fact["late_since"]
    plan_dates = {start, *plans.change_dates()}
    if late_since is not None:
        plan_dates.add(late_since)
    days = sorted({d for d in plan_dates if start <= d <= end} | set(reported))
    rows: list[tuple[Any, ...]] = []
    actual, has_reported = before, before is not None
    for day in days:
        if day in reported:
            actual, has_reported = reported[day], True
        if day < first:
            continue
        plan, late = plans.on(day)
        if plan is None and not has_reported:
            continue  # no plan and no figures: nothing to bring to a group
        supplemented = late_since is not None and day >= late_since
        comparable = None if plan is None else plan - late
        # The plan the province assigned, where it differs in source from the one above: the groups that rank
        # on it read these (the others, and units with one plan, the plan above).
        by_pm, by_province = plans.assigned_on(day, PRIME_MINISTER), plans.assigned_on(day, PROVINCE)
        by = PROVINCE if by_province and not by_pm else PRIME_MINISTER
        province_plan = province_comparable = None
        if by_pm and by_province:
            province_plan, province_late = plans.on(day, PROVINCE)
            province_comparable = None if province_plan is None else province_plan - province_late
            province_plan = province_plan if supplemented else province_comparable
        # Before its decision the late supplement was not part of the plan the unit was held to.
        rows.append((*key, day, plan if supplemented else comparable, comparable, supplemented,
                     actual or Decimal(0), has_reported, by, province_plan, province_comparable))  # fmt: skip
    return rows


def _versions_by_date(figures: list[Figure], dates: set[dt.date], base: int) -> dict[dt.date, int]:
    """The newest fact each date's row reflects: the key's own (`base`) or a figure as of that date or
    earlier. Rows are rewritten from the date a fact changed on, so earlier rows keep theirs."""
    versions, newest = {}, base
    by_date = sorted(figures, key=lambda f: f.as_of)
    index = 0
    for day in sorted(dates):
        while index < len(by_date) and by_date[index].as_of <= day:
            newest = max(newest, by_date[index].position)
            index += 1
        versions[day] = newest
    return versions


@dataclass(frozen=True)
class DayBasis:
    """What a key's rows of one date are judged against: the plan in force, its late supplement, the
    expected pace and the decision of the unit's own milestones it came from (None: the curve)."""

    as_of: dt.date
    target: Decimal | None
    late: Decimal
    pace: Decimal
    pace_decision: str | None


def _day_basis(
    key: tuple[str, str, int],
    as_of: dt.date,
    plans: KeyPlans,
    prefer: str,
    rules: ProgressRules,
    paces: dict[tuple[str, int, dt.date], Decimal],
) -> DayBasis:
    target, late = plans.on(as_of, prefer)
    own_pace = plans.pace_on(as_of)
    if own_pace is not None:  # the unit's own milestones, by decision
        pace = unit_pace(rules.curves[Indicator(key[1])], key[2], as_of, own_pace.decided_on, own_pace.milestones)
    else:  # the indicator's curve: a few hundred distinct dates among many thousand rows
        pace_key = (key[1], key[2], as_of)
        if pace_key not in paces:
            paces[pace_key] = rules.pace(Indicator(key[1]), key[2], as_of)
        pace = paces[pace_key]
    return DayBasis(as_of, target, late, pace, None if own_pace is None else own_pace.number)


def _progress_row(
    key: tuple[str, str, int],
    category: str,
    actual_ytd: Decimal,
    held_to: DayBasis,
    rules: ProgressRules,
    version: int,
) -> tuple[Any, ...]:
    """One `HISTORY_COLUMNS` row: the unit's total (category `TOTAL`) or a category's share."""
    as_of, target, late, pace = held_to.as_of, held_to.target, held_to.late, held_to.pace
    comparable_target = None if target is None else target - late
    if category == TOTAL:
        progress = rules.assess(Indicator(key[1]), target, actual_ytd, pace)
        comparable = rules.assess(Indicator(key[1]), comparable_target, actual_ytd, pace).rate
        rate, gap, status = progress.rate, progress.gap_to_pace, progress.status.value
    else:  # a category's share of the unit's target
        rate = rules.assess(Indicator(key[1]), target, actual_ytd, pace).rate
        comparable, gap, status = None, None, None
    return (
        *key, category, as_of, target, comparable_target, actual_ytd, rate, comparable, pace, gap, status, version,
        held_to.pace_decision,
    )  # fmt: skip


async def current_progress(conn: asyncpg.Connection, keys: set[ProgressKey]) -> list[ProgressChanged]:
    """The current (latest) state of each key, as announced after a recompute."""
    if not keys:
        return []
    ordered = sorted(keys)
    rows = await conn.fetch(
        "SELECT DISTINCT ON (h.unit_code, h.indicator, h.plan_year) h.unit_code, h.indicator, h.plan_year, h.as_of,"
        " h.status, h.version FROM unit_progress_history h"
        " JOIN unnest($1::text[], $2::text[], $3::int[]) AS k(unit_code, indicator, plan_year)"
        " USING (unit_code, indicator, plan_year) WHERE h.category = ''"
        " ORDER BY h.unit_code, h.indicator, h.plan_year, h.as_of DESC",
        *key_columns(ordered),
    )
    return [ProgressChanged(**dict(r))
            for r in rows]  # fmt: skip
