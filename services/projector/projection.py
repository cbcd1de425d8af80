"""Applies ledger events to the read models, in one transaction with the consumer checkpoint.

Every write is idempotent and order-independent: rows carry the position of the event that wrote them
and a later position wins, so redelivered or reordered events leave the same tables.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg

from services.projector.accountability import ProgressPoint, attribute, plan_period, vote_band
from services.projector.actuals import TOTAL, Figure, actuals
from services.projector.peers import PeerFigures, peer_standings
from services.projector.progress import ProgressRules
from shared.events import (
    ConfidenceVoteRecorded,
    DisbursementReported,
    FigureCorrected,
    FigureFields,
    Indicator,
    LeaderAppointed,
    LeaderLeft,
    RecordedEvent,
    RevenueReported,
    Role,
    TargetAdjusted,
    TargetSet,
    UnitRegistered,
    UnitsMerged,
)
from shared.responsibility import Tenure

KEYS_PER_CHUNK = 250  # (unit, indicator, plan year) keys recomputed per statement: ~60k history rows at most


@dataclass(frozen=True, order=True)
class ProgressKey:
    unit_code: str
    indicator: str
    plan_year: int


@dataclass(frozen=True)
class ProgressChanged:
    """What the projector tells the alerts service after a commit."""

    unit_code: str
    indicator: str
    plan_year: int
    as_of: dt.date
    status: str
    version: int

    def as_message(self) -> dict[str, object]:
        return {
            "unit_code": self.unit_code,
            "indicator": self.indicator,
            "plan_year": self.plan_year,
            "as_of": self.as_of.isoformat(),
            "status": self.status,
            "version": self.version,
        }


EVER = dt.date.min  # "since the first date": every row of a key is recomputed


@dataclass
class Touched:
    """What a batch of facts changed, so the derived rows can be recomputed for just that."""

    # Each (unit, indicator, plan year) and the earliest date its facts changed: a figure as of a date
    # changes that date's row and the later ones (values carry forward), a target every row (EVER).
    keys: dict[ProgressKey, dt.date] = field(default_factory=dict)
    registered: set[str] = field(default_factory=set)  # units (re-)registered: their peer group may change
    retenured: set[str] = field(default_factory=set)  # units whose tenures changed
    merged: set[str] = field(default_factory=set)  # units that took others over

    def touch(self, key: ProgressKey, since: dt.date = EVER) -> None:
        if key not in self.keys or since < self.keys[key]:
            self.keys[key] = since

    def update(self, other: Touched) -> None:
        for key, since in other.keys.items():
            self.touch(key, since)
        self.registered |= other.registered
        self.retenured |= other.retenured
        self.merged |= other.merged


async def apply_events(
    conn: asyncpg.Connection, events: Sequence[RecordedEvent], rules: ProgressRules
) -> list[ProgressChanged]:
    """Write `events` into the read models and recompute the progress rows they touch."""
    return await recompute(conn, await write_facts(conn, events), rules)


async def write_facts(conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> Touched:
    """Write the facts `events` carry (idempotently, order-independently); say what they touched."""
    units, mergers, appointments, departures, targets, figures, votes = [], [], [], [], [], [], []
    target_known_on: list[dt.date] = []
    touched = Touched()
    for recorded in events:
        event = recorded.event()
        position = recorded.position
        match event:
            case UnitRegistered():
                units.append((event.unit_code, event.name, event.level, event.parent_code, event.committee, position))
            case UnitsMerged():
                mergers += [(code, event.unit_code, event.effective_date, position) for code in event.predecessor_codes]
            case LeaderAppointed():
                appointments.append(
                    (
                        event.tenure_id,
                        event.unit_code,
                        event.leader_id,
                        event.leader_name,
                        event.role.value,
                        event.indicator.value if event.indicator else None,
                        event.start_date,
                        position,
                    )
                )
            case LeaderLeft():
                departures.append((event.tenure_id, event.unit_code, event.end_date, position))
            case TargetSet() | TargetAdjusted():
                late_supplement = event.late_supplement if isinstance(event, TargetAdjusted) else Decimal(0)
                target_known_on.append(recorded.recorded_at.date())
                targets.append(
                    (
                        event.unit_code,
                        event.indicator.value,
                        event.plan_year,
                        event.amount,
                        late_supplement,
                        event.decision_number,
                        event.decision_date,
                        event.decision_authority,
                        position,
                    )
                )
                touched.touch(ProgressKey(event.unit_code, event.indicator.value, event.plan_year))
            case FigureFields():
                indicator = event.indicator.value
                reason = event.reason if isinstance(event, FigureCorrected) else None
                known_on = event.document_date or recorded.recorded_at.date()
                figures.append(
                    (
                        position,
                        event.unit_code,
                        indicator,
                        event.plan_year,
                        event.category,
                        event.project_code or "",
                        event.as_of,
                        event.amount_kind,
                        event.amount,
                        reason,
                        known_on,
                    )
                )
                touched.touch(ProgressKey(event.unit_code, indicator, event.plan_year), event.as_of)
            case ConfidenceVoteRecorded():
                votes.append(
                    (
                        position,
                        event.unit_code,
                        event.leader_id,
                        event.vote_date,
                        event.voters,
                        event.high,
                        event.confidence,
                        event.low,
                        vote_band(event.voters, event.low),
                    )
                )
            case _:
                pass  # alert events are the alerts service's; nothing to project here yet

    if units:
        await conn.executemany(
            "INSERT INTO units AS u (unit_code, name, level, parent_code, committee, position)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (unit_code) DO UPDATE SET"
            " name = $2, level = $3, parent_code = $4, committee = $5, position = $6"
            " WHERE u.position < $6",
            units,
        )
    if mergers:
        await conn.executemany(
            "INSERT INTO unit_mergers AS m (predecessor_code, successor_code, effective_date, position)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (predecessor_code) DO UPDATE SET successor_code = $2,"
            " effective_date = $3, position = $4 WHERE m.position < $4",
            mergers,
        )
    if appointments:
        await conn.executemany(
            "INSERT INTO tenures AS t (tenure_id, unit_code, leader_id, leader_name, role, indicator,"
            " start_date, appointed_position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            " ON CONFLICT (tenure_id) DO UPDATE SET unit_code = $2, leader_id = $3, leader_name = $4,"
            " role = $5, indicator = $6, start_date = $7, appointed_position = $8"
            " WHERE t.appointed_position IS NULL OR t.appointed_position < $8",
            appointments,
        )
    if departures:
        await conn.executemany(
            "INSERT INTO tenures AS t (tenure_id, unit_code, end_date, left_position) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (tenure_id) DO UPDATE SET end_date = $3, left_position = $4"
            " WHERE t.left_position IS NULL OR t.left_position < $4",
            departures,
        )
    if targets:
        await conn.executemany(
            "INSERT INTO targets AS t (unit_code, indicator, plan_year, amount, late_supplement, decision_number,"
            " decision_date, decision_authority, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT (unit_code, indicator, plan_year) DO UPDATE SET amount = $4, late_supplement = $5,"
            " decision_number = $6, decision_date = $7, decision_authority = $8, position = $9"
            " WHERE t.position < $9",
            targets,
        )
        await conn.executemany(
            "INSERT INTO target_history (position, unit_code, indicator, plan_year, amount, late_supplement, known_on)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (position) DO NOTHING",
            [(t[8], *t[:5], known) for t, known in zip(targets, target_known_on, strict=True)],
        )
    if figures:
        # Figures are most of the ledger: COPY them in, then keep the ones not already there.
        await conn.execute("CREATE TEMP TABLE IF NOT EXISTS incoming_figures (LIKE figures) ON COMMIT DELETE ROWS")
        await conn.copy_records_to_table("incoming_figures", records=figures, columns=_FIGURE_COLUMNS)
        await conn.execute("INSERT INTO figures SELECT * FROM incoming_figures ON CONFLICT (position) DO NOTHING")
    if votes:
        await conn.executemany(
            "INSERT INTO confidence_votes (position, unit_code, leader_id, vote_date, voters, high, confidence, low,"
            " band) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (position) DO NOTHING",
            votes,
        )
    touched.registered = {unit[0] for unit in units}
    touched.retenured = {a[1] for a in appointments} | {d[1] for d in departures}
    touched.merged = {m[1] for m in mergers}
    return touched


# The figures of the stored events up to position $1, straight from their payloads: the rebuild's bulk of
# the ledger, written by one statement rather than decoded event by event. The same columns as
# `write_facts` writes (tests/integration/test_rebuild.py holds the two to the same tables).
_FIGURES_FROM_STORE = """
INSERT INTO figures (position, unit_code, indicator, plan_year, category, project_code, as_of, amount_kind, amount,
                     correction_reason, known_on)
SELECT e.position, e.payload->>'unit_code',
       coalesce(e.payload->>'indicator', k.indicator), (e.payload->>'plan_year')::int, e.payload->>'category',
       coalesce(e.payload->>'project_code', ''), (e.payload->>'as_of')::date, e.payload->>'amount_kind',
       (e.payload->>'amount')::numeric, e.payload->>'reason',
       coalesce((e.payload->>'document_date')::date, (e.recorded_at AT TIME ZONE 'UTC')::date)
FROM public.events e
JOIN unnest($2::text[], $3::text[]) AS k(event_type, indicator) USING (event_type)
WHERE e.position <= $1
ON CONFLICT (position) DO NOTHING
"""
# Each figure event type, with the indicator its type implies (None: the payload names it).
FIGURE_TYPES: dict[str, str | None] = {
    **{cls.model_fields["type"].default: cls.indicator.value for cls in (DisbursementReported, RevenueReported)},
    FigureCorrected.model_fields["type"].default: None,
}


async def copy_figures_from_store(conn: asyncpg.Connection, up_to: int) -> Touched:
    """Write the figures of every stored event up to position `up_to`; say which keys they touched."""
    types = sorted(FIGURE_TYPES)
    await conn.execute(_FIGURES_FROM_STORE, up_to, types, [FIGURE_TYPES[t] for t in types])
    touched = Touched()
    for r in await conn.fetch("SELECT DISTINCT unit_code, indicator, plan_year FROM figures"):
        touched.touch(ProgressKey(r["unit_code"], r["indicator"], r["plan_year"]))
    return touched


async def recompute(conn: asyncpg.Connection, touched: Touched, rules: ProgressRules) -> list[ProgressChanged]:
    """Recompute the derived rows (progress, peer standing, accountability) that `touched` affects.

    A few hundred keys at a time, so memory stays flat however much a rebuild or a burst touched."""
    for key in await _successor_keys(conn, set(touched.keys), touched.merged):
        touched.touch(key)
    changes = []
    for chunk in _chunks(sorted(touched.keys)):
        changes += await recompute_progress(conn, {key: touched.keys[key] for key in chunk}, rules)
    moved = await recompute_peer_standing(conn, touched.keys, touched.registered)
    changes += await _current_progress(conn, moved - set(touched.keys))
    answerable = set(touched.keys) | await _keys_of_units(conn, touched.retenured)
    for chunk in _chunks(sorted(answerable)):
        await recompute_accountability(conn, chunk)
    return changes


def _chunks(keys: list[ProgressKey]) -> Iterator[list[ProgressKey]]:
    for start in range(0, len(keys), KEYS_PER_CHUNK):
        yield keys[start : start + KEYS_PER_CHUNK]


_FIGURE_COLUMNS = (
    "position", "unit_code", "indicator", "plan_year", "category", "project_code", "as_of", "amount_kind", "amount",
    "correction_reason", "known_on",
)  # fmt: skip


# Actual year-to-date of each unit, on each date it reported, per category and in total, as one set-based
# statement. The projector computes the same in Python (`actuals.py`, fed line by line by index); this
# statement is the benchmark's raw limit and the independent oracle the tests hold `actuals` to. Per line
# (category and project), the report that counts for a date is the one with the highest position (a
# later report supersedes); a cumulative report starts a new running total and period reports add to
# it; on a date a line did not report, its latest earlier value carries forward. A category has rows from
# the first date one of its lines reported.
PROGRESS_ACTUALS = """
WITH keys AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) AS k(unit_code, indicator, plan_year)
), sources AS (
    -- a unit's own figures and, from the merger date on, those of the units merged into it
    SELECT unit_code, indicator, plan_year, unit_code AS source, NULL::date AS merged_on FROM keys
    UNION ALL
    SELECT k.unit_code, k.indicator, k.plan_year, m.predecessor_code, m.effective_date
    FROM keys k JOIN unit_mergers m ON m.successor_code = k.unit_code
), effective AS MATERIALIZED (
    SELECT DISTINCT ON (s.unit_code, s.indicator, s.plan_year, s.source, f.category, f.project_code, f.as_of)
           s.unit_code, s.indicator, s.plan_year, s.source, s.merged_on, f.category, f.project_code, f.as_of,
           f.amount_kind, f.amount
    FROM sources s JOIN figures f ON (f.unit_code, f.indicator, f.plan_year) = (s.source, s.indicator, s.plan_year)
    WHERE $4::date IS NULL OR f.known_on <= $4::date
    ORDER BY s.unit_code, s.indicator, s.plan_year, s.source, f.category, f.project_code, f.as_of, f.position DESC
), grouped AS (
    SELECT *, count(*) FILTER (WHERE amount_kind = 'cumulative') OVER (
        PARTITION BY unit_code, indicator, plan_year, source, category, project_code ORDER BY as_of) AS run
    FROM effective
), line_values AS MATERIALIZED (
    SELECT unit_code, indicator, plan_year, source, category, project_code, as_of,
           sum(amount) OVER (PARTITION BY unit_code, indicator, plan_year, source, category, project_code, run
                             ORDER BY as_of) AS ytd
    FROM grouped
), dates AS (  -- every date any source reported, so values carry forward; rows come out for the unit's own
    SELECT unit_code, indicator, plan_year, as_of, bool_or(source = unit_code) AS own
    FROM effective GROUP BY unit_code, indicator, plan_year, as_of
), lines AS (
    SELECT DISTINCT unit_code, indicator, plan_year, source, merged_on, category, project_code FROM effective
), marks AS (
    SELECT d.unit_code, d.indicator, d.plan_year, d.as_of, d.own, l.source, l.merged_on, l.category, l.project_code,
           v.ytd
    FROM dates d
    JOIN lines l USING (unit_code, indicator, plan_year)
    LEFT JOIN line_values v USING (unit_code, indicator, plan_year, source, category, project_code, as_of)
), carried AS (
    SELECT *, count(ytd) OVER (PARTITION BY unit_code, indicator, plan_year, source, category, project_code
                               ORDER BY as_of) AS seen
    FROM marks
), filled AS (
    SELECT *,
           CASE WHEN as_of < merged_on THEN 0  -- a predecessor counts only from the merger date
                ELSE coalesce(first_value(ytd) OVER (
                    PARTITION BY unit_code, indicator, plan_year, source, category, project_code, seen
                    ORDER BY as_of), 0) END AS value
    FROM carried
)
SELECT unit_code, indicator, plan_year, as_of, coalesce(category, '') AS category, sum(value) AS actual_ytd
FROM filled
WHERE own
GROUP BY GROUPING SETS ((unit_code, indicator, plan_year, as_of, category), (unit_code, indicator, plan_year, as_of))
HAVING GROUPING(category) = 1 OR bool_or(seen > 0)  -- a category has rows from its first report on
"""

# Each key's target (the latest known on $4, or the latest of all when $4 is null), and the newest fact
# every row of the key reflects (its target, a merger into it); figures add theirs date by date.
_KEY_FACTS = """
WITH keys AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) AS k(unit_code, indicator, plan_year)
)
SELECT k.unit_code, k.indicator, k.plan_year, t.amount AS target, t.late_supplement,
       coalesce(greatest(t.position, (SELECT max(position) FROM unit_mergers WHERE successor_code = k.unit_code)),
                0) AS version
FROM keys k
LEFT JOIN LATERAL (
    SELECT h.amount, h.late_supplement, h.position FROM target_history h
    WHERE (h.unit_code, h.indicator, h.plan_year) = (k.unit_code, k.indicator, k.plan_year)
      AND ($4::date IS NULL OR h.known_on <= $4::date)
    ORDER BY h.position DESC LIMIT 1
) t ON true
"""

# The targets of the units merged into each key's unit, which join its target from the merger date.
_MERGED_TARGETS = """
WITH keys AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) AS k(unit_code, indicator, plan_year)
)
SELECT k.unit_code, k.indicator, k.plan_year, m.effective_date, t.amount, t.late_supplement
FROM keys k
JOIN unit_mergers m ON m.successor_code = k.unit_code
JOIN LATERAL (
    SELECT h.amount, h.late_supplement FROM target_history h
    WHERE (h.unit_code, h.indicator, h.plan_year) = (m.predecessor_code, k.indicator, k.plan_year)
      AND ($4::date IS NULL OR h.known_on <= $4::date)
    ORDER BY h.position DESC LIMIT 1
) t ON true
"""

# Each key's unit and the units merged into it (`source`), with the date its rows are recomputed from.
_SOURCES = """
WITH keys AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $5::date[]) AS k(unit_code, indicator, plan_year, since)
), sources AS (
    SELECT unit_code, indicator, plan_year, since, unit_code AS source FROM keys
    UNION ALL
    SELECT k.unit_code, k.indicator, k.plan_year, k.since, m.predecessor_code FROM keys k
    JOIN unit_mergers m ON m.successor_code = k.unit_code
)
"""

# The figures the rows from `since` on depend on, known on $4 (all when null): per line, those from the
# last date before `since` whose report is cumulative (it starts the running total afresh) on, or all.
_KEY_FIGURES = f"""{_SOURCES}
SELECT s.unit_code, s.indicator, s.plan_year, s.source, l.category, l.project_code, f.as_of, f.position,
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

HISTORY_COLUMNS = (
    "unit_code", "indicator", "plan_year", "category", "as_of", "target", "comparable_target", "actual_ytd", "rate",
    "comparable_rate", "expected_pace", "gap_to_pace", "status", "version",
)  # fmt: skip
_STATUS = HISTORY_COLUMNS.index("status")


async def recompute_progress(
    conn: asyncpg.Connection, since: Mapping[ProgressKey, dt.date], rules: ProgressRules
) -> list[ProgressChanged]:
    """Rewrite the progress history of each key from the date its facts changed on; return the current
    (latest) state of each."""
    keys = sorted(since)
    if not keys:
        return []
    records, latest = await compute_progress(conn, keys, rules, known_on=None, since=since)
    await conn.execute(
        "DELETE FROM unit_progress_history h USING unnest($1::text[], $2::text[], $3::int[], $4::date[])"
        " AS k(u, i, y, since) WHERE (h.unit_code, h.indicator, h.plan_year) = (k.u, k.i, k.y) AND h.as_of >= k.since",
        [k.unit_code for k in keys],
        [k.indicator for k in keys],
        [k.plan_year for k in keys],
        [since[k] for k in keys],
    )
    await conn.copy_records_to_table("unit_progress_history", records=records, columns=HISTORY_COLUMNS)
    return [
        ProgressChanged(unit, indicator, year, as_of, status, version)
        for (unit, indicator, year), (as_of, status, version) in sorted(latest.items())
    ]


async def compute_progress(
    conn: asyncpg.Connection,
    keys: list[ProgressKey],
    rules: ProgressRules,
    known_on: dt.date | None,
    since: Mapping[ProgressKey, dt.date] | None = None,
) -> tuple[list[tuple[Any, ...]], dict[tuple[str, str, int], tuple[dt.date, str, int]]]:
    """Progress rows (in `HISTORY_COLUMNS` order) of `keys`, from the facts known on `known_on` (all facts
    when None), on the dates from `since` on (all when None); with each key's latest date, status and
    version."""
    arrays = ([k.unit_code for k in keys], [k.indicator for k in keys], [k.plan_year for k in keys])
    facts = {
        (r["unit_code"], r["indicator"], r["plan_year"]): r for r in await conn.fetch(_KEY_FACTS, *arrays, known_on)
    }
    merged: dict[tuple[str, str, int], list[asyncpg.Record]] = defaultdict(list)
    for r in await conn.fetch(_MERGED_TARGETS, *arrays, known_on):
        merged[(r["unit_code"], r["indicator"], r["plan_year"])].append(r)
    starts = [EVER if since is None else since[k] for k in keys]
    earlier = {
        (r["unit_code"], r["indicator"], r["plan_year"]): r["position"]
        for r in await conn.fetch(_EARLIER_NEWEST, *arrays, known_on, starts)
    }
    figures_of: dict[tuple[str, str, int], list[Figure]] = defaultdict(list)
    for r in await conn.fetch(_KEY_FIGURES, *arrays, known_on, starts):
        figures_of[(r["unit_code"], r["indicator"], r["plan_year"])].append(
            Figure(r["source"], r["category"], r["project_code"], r["as_of"], r["position"], r["cumulative"],
                   r["amount"])
        )  # fmt: skip
    merged_on = {r[0]: r[1] for r in await conn.fetch("SELECT predecessor_code, effective_date FROM unit_mergers")}
    records: list[tuple[Any, ...]] = []
    latest: dict[tuple[str, str, int], tuple[dt.date, str, int]] = {}
    paces: dict[tuple[str, int, dt.date], Decimal] = {}
    for key, key_figures in figures_of.items():
        first = EVER if since is None else since[ProgressKey(*key)]
        versions = _versions_by_date(key_figures, max(facts[key]["version"], earlier.get(key, 0)))
        for (as_of, category), actual_ytd in sorted(actuals(key[0], key_figures, merged_on).items()):
            if as_of < first:
                continue  # unchanged: kept as it is
            version = versions[as_of]
            records.append(
                _progress_row(key, as_of, category, actual_ytd, facts[key], merged[key], rules, paces, version)
            )
            if category == TOTAL and (key not in latest or latest[key][0] < as_of):
                latest[key] = (as_of, records[-1][_STATUS], version)
    return records, latest


def _versions_by_date(figures: list[Figure], base: int) -> dict[dt.date, int]:
    """The newest fact each date's row reflects: the key's own (`base`) or a figure as of that date or
    earlier. Rows are rewritten from the date a fact changed on, so earlier rows keep theirs."""
    versions, newest = {}, base
    for figure in sorted(figures, key=lambda f: f.as_of):
        newest = max(newest, figure.position)
        versions[figure.as_of] = newest
    return versions


def _progress_row(
    key: tuple[str, str, int],
    as_of: dt.date,
    category: str,
    actual_ytd: Decimal,
    fact: asyncpg.Record,
    predecessors: list[asyncpg.Record],
    rules: ProgressRules,
    paces: dict[tuple[str, int, dt.date], Decimal],
    version: int,
) -> tuple[Any, ...]:
    """One `HISTORY_COLUMNS` row: the unit's total (category `TOTAL`) or a category's share."""
    target, late = fact["target"], fact["late_supplement"] or Decimal(0)
    for predecessor in predecessors:  # merged units' plans join the successor's from the merger date
        if as_of >= predecessor["effective_date"]:
            target = (target or Decimal(0)) + predecessor["amount"]
            late += predecessor["late_supplement"]
    pace_key = (key[1], key[2], as_of)
    pace = paces.get(pace_key)
    if pace is None:  # a few hundred distinct dates among many thousand rows
        pace = paces[pace_key] = rules.pace(Indicator(key[1]), key[2], as_of)
    comparable_target = None if target is None else target - late
    if category == TOTAL:
        progress = rules.assess(target, actual_ytd, pace)
        comparable = rules.assess(comparable_target, actual_ytd, pace).rate
        rate, gap, status = progress.rate, progress.gap_to_pace, progress.status.value
    else:  # a category's share of the unit's target
        rate = rules.assess(target, actual_ytd, pace).rate
        comparable, gap, status = None, None, None
    return (
        *key, category, as_of, target, comparable_target, actual_ytd, rate, comparable, pace, gap, status, version,
    )  # fmt: skip


# Top-level units (provinces and central agencies) form the national group; the others are grouped
# by level and parent.
_PEER_GROUP = "CASE WHEN u.parent_code IS NULL THEN 'national' ELSE u.level || '/' || u.parent_code END"


async def recompute_peer_standing(
    conn: asyncpg.Connection, since: Mapping[ProgressKey, dt.date], registered: Iterable[str] = ()
) -> set[ProgressKey]:
    """Recompute the peer standing in the peer groups of the units of `since`, for their indicators and
    plan years, on every date any member reported from the earliest date a member's rows changed on (all
    dates, and every indicator and year, for groups a (re-)registered unit is in). On a date a member did
    not report, its latest earlier figure stands in for it. One group at a time, to keep memory flat.

    Only rows whose standing changed are written. Returns the keys whose current (latest) standing
    changed: a peer's report moves a unit's standing without any fact of its own."""
    registered = set(registered)
    changed_of: dict[str, list[tuple[tuple[str, int], dt.date]]] = defaultdict(list)
    for key, day in since.items():
        changed_of[key.unit_code].append(((key.indicator, key.plan_year), day))
    moved: set[ProgressKey] = set()
    if not changed_of and not registered:
        return moved
    groups = await conn.fetch(_GROUPS, sorted(changed_of.keys() | registered), sorted(registered))
    every_pair = await _indicator_years(conn) if registered else set()
    merged_on = {
        r["predecessor_code"]: r["effective_date"]
        for r in await conn.fetch("SELECT predecessor_code, effective_date FROM unit_mergers")
    }
    for group in groups:
        members = sorted(set(group["members"] or ()))
        starts: dict[tuple[str, int], dt.date] = {}
        for unit in members:
            for pair, day in changed_of.get(unit, ()):
                starts[pair] = min(day, starts.get(pair, day))
        if group["regrouped"]:
            starts |= dict.fromkeys(every_pair, EVER)
        if starts and members:
            moved |= await _recompute_group_standing(conn, group["peer_group"], members, starts, merged_on)
    return moved


# The peer groups of units $1 with their members now; `regrouped`: a unit of $2, just (re-)registered,
# joined it or left it (the group it stood in before, from its rows).
_GROUPS = f"""
WITH wanted AS (
    SELECT {_PEER_GROUP} AS peer_group, u.unit_code = ANY($2::text[]) AS regrouped
    FROM units u WHERE u.unit_code = ANY($1::text[])
    UNION ALL
    SELECT DISTINCT h.peer_group, true FROM unit_progress_history h
    WHERE h.unit_code = ANY($2::text[]) AND h.category = '' AND h.peer_group IS NOT NULL
)
SELECT w.peer_group, bool_or(w.regrouped) AS regrouped,
       (SELECT array_agg(m.unit_code) FROM units m WHERE {_PEER_GROUP.replace("u.", "m.")} = w.peer_group) AS members
FROM wanted w GROUP BY w.peer_group
"""


# A peer group's total rows from each (indicator, plan year)'s start date on, and each member's latest
# row before it: the figures that stand in for it until it reports again.
_GROUP_ROWS = """
WITH p AS (SELECT * FROM unnest($2::text[], $3::int[], $4::date[]) AS p(indicator, plan_year, since))
SELECT h.unit_code, h.indicator, h.plan_year, h.as_of, h.target, h.actual_ytd, h.peer_group, h.peer_average,
       h.standing, h.peer_rank, true AS fresh
FROM p JOIN unit_progress_history h USING (indicator, plan_year)
WHERE h.unit_code = ANY($1::text[]) AND h.category = '' AND h.as_of >= p.since
UNION ALL
SELECT h.*, false FROM unnest($1::text[]) AS m(unit_code) CROSS JOIN p CROSS JOIN LATERAL (
    SELECT h.unit_code, h.indicator, h.plan_year, h.as_of, h.target, h.actual_ytd, h.peer_group, h.peer_average,
           h.standing, h.peer_rank
    FROM unit_progress_history h
    WHERE (h.unit_code, h.indicator, h.plan_year, h.category) = (m.unit_code, p.indicator, p.plan_year, '')
      AND h.as_of < p.since
    ORDER BY h.as_of DESC LIMIT 1
) h
"""


async def _recompute_group_standing(
    conn: asyncpg.Connection,
    peer_group: str,
    members: list[str],
    starts: dict[tuple[str, int], dt.date],
    merged_on: dict[str, dt.date],
) -> set[ProgressKey]:
    pairs = sorted(starts)
    rows = await conn.fetch(
        _GROUP_ROWS, members, [i for i, _ in pairs], [y for _, y in pairs], [starts[p] for p in pairs]
    )
    seeds: dict[tuple[str, int], list[asyncpg.Record]] = defaultdict(list)
    series: dict[tuple[str, int], dict[str, dict[dt.date, asyncpg.Record]]] = {}
    for row in rows:
        pair = (row["indicator"], row["plan_year"])
        if row["fresh"]:
            series.setdefault(pair, {}).setdefault(row["unit_code"], {})[row["as_of"]] = row
        else:
            seeds[pair].append(row)
    merged_away = [unit for unit in members if unit in merged_on]
    updates: list[tuple[object, ...]] = []
    moved: set[ProgressKey] = set()

    def stand(unit: str, indicator: str, plan_year: int, day: dt.date, *peer: object) -> None:
        row = series[(indicator, plan_year)][unit][day]
        if (row["peer_group"], row["peer_average"], row["standing"], row["peer_rank"]) == peer:
            return  # unchanged: no write
        updates.append((unit, indicator, plan_year, day, *peer))
        if day == last_day[(unit, indicator, plan_year)]:
            moved.add(ProgressKey(unit, indicator, plan_year))

    last_day = {(unit, *pair): max(reported) for pair, reported_by in series.items()
                for unit, reported in reported_by.items()}  # fmt: skip
    for (indicator, plan_year), reported_by in series.items():
        latest = {  # each member's latest figures on or before the day
            seed["unit_code"]: PeerFigures(seed["unit_code"], seed["target"], seed["actual_ytd"])
            for seed in seeds[(indicator, plan_year)]
            if seed["unit_code"] not in merged_on or seed["as_of"] < merged_on[seed["unit_code"]]
        }
        for day in sorted({day for reported in reported_by.values() for day in reported}):
            reporting = []
            for unit, reported in reported_by.items():
                row = reported.get(day)
                if row is None:
                    continue
                reporting.append(unit)
                if unit in merged_on and day >= merged_on[unit]:
                    # Merged away: its figures count in its successor's from now on; it stands nowhere.
                    stand(unit, indicator, plan_year, day, peer_group, None, None, None)
                else:
                    latest[unit] = PeerFigures(unit, row["target"], row["actual_ytd"])
            for unit in merged_away:
                if day >= merged_on[unit]:
                    latest.pop(unit, None)
            standings = {s.unit_code: s for s in peer_standings(latest.values())}
            for unit in reporting:
                if unit in standings:
                    standing = standings[unit]
                    stand(unit, indicator, plan_year, day, peer_group, standing.peer_average,
                          standing.standing.value, standing.rank)  # fmt: skip
    if not updates:
        return moved
    columns = list(zip(*updates, strict=True))
    await conn.execute(
        "UPDATE unit_progress_history h SET peer_group = u.peer_group, peer_average = u.peer_average,"
        " standing = u.standing, peer_rank = u.peer_rank"
        " FROM unnest($1::text[], $2::text[], $3::int[], $4::date[], $5::text[], $6::numeric[], $7::text[],"
        " $8::int[]) AS u(unit_code, indicator, plan_year, as_of, peer_group, peer_average, standing, peer_rank)"
        " WHERE (h.unit_code, h.indicator, h.plan_year, h.category, h.as_of)"
        " = (u.unit_code, u.indicator, u.plan_year, '', u.as_of)",
        *[list(c) for c in columns],
    )
    return moved


async def _current_progress(conn: asyncpg.Connection, keys: set[ProgressKey]) -> list[ProgressChanged]:
    if not keys:
        return []
    ordered = sorted(keys)
    rows = await conn.fetch(
        "SELECT p.unit_code, p.indicator, p.plan_year, p.as_of, p.status, p.version FROM unit_progress p"
        " JOIN unnest($1::text[], $2::text[], $3::int[]) AS k(unit_code, indicator, plan_year)"
        " USING (unit_code, indicator, plan_year) ORDER BY 1, 2, 3",
        [k.unit_code for k in ordered],
        [k.indicator for k in ordered],
        [k.plan_year for k in ordered],
    )
    return [ProgressChanged(r["unit_code"], r["indicator"], r["plan_year"], r["as_of"], r["status"], r["version"])
            for r in rows]  # fmt: skip


async def _indicator_years(conn: asyncpg.Connection) -> set[tuple[str, int]]:
    rows = await conn.fetch("SELECT DISTINCT indicator, plan_year FROM unit_progress_history")
    return {(r["indicator"], r["plan_year"]) for r in rows}


async def _keys_of_units(conn: asyncpg.Connection, units: set[str]) -> set[ProgressKey]:
    if not units:
        return set()
    rows = await conn.fetch(
        "SELECT DISTINCT unit_code, indicator, plan_year FROM unit_progress_history WHERE unit_code = ANY($1::text[])",
        sorted(units),
    )
    return {ProgressKey(r["unit_code"], r["indicator"], r["plan_year"]) for r in rows}


_ACCOUNTABILITY_COLUMNS = (
    "unit_code", "indicator", "plan_year", "answerable_as", "stint_start", "stint_end", "leader_id", "leader_name",
    "role", "tenure_id", "tenure_start", "tenure_end", "rate_at_start", "rate_at_end", "gap_at_start", "gap_at_end",
    "gap_arisen", "months_behind",
)  # fmt: skip


async def recompute_accountability(conn: asyncpg.Connection, keys: Iterable[ProgressKey]) -> None:
    """Rewrite the stints of `keys`: heads and deputies in charge, over each plan year's period."""
    keys = sorted(set(keys))
    if not keys:
        return
    units = sorted({k.unit_code for k in keys})
    tenure_rows = await conn.fetch(
        "SELECT * FROM tenures WHERE unit_code = ANY($1::text[]) AND start_date IS NOT NULL AND role IS NOT NULL",
        units,
    )
    history = await conn.fetch(
        "SELECT unit_code, indicator, plan_year, as_of, rate, expected_pace, status FROM unit_progress_history"
        " WHERE category = '' AND unit_code = ANY($1::text[]) ORDER BY as_of",
        units,
    )
    points_of: dict[ProgressKey, list[ProgressPoint]] = defaultdict(list)
    for r in history:
        key = ProgressKey(r["unit_code"], r["indicator"], r["plan_year"])
        points_of[key].append(ProgressPoint(r["as_of"], r["rate"], r["expected_pace"], r["status"]))
    tenures_of: dict[str, list[Tenure]] = defaultdict(list)
    for r in tenure_rows:
        tenures_of[r["unit_code"]].append(
            Tenure(r["leader_id"], r["leader_name"], Role(r["role"]), r["indicator"], r["start_date"], r["end_date"],
                   r["tenure_id"])
        )  # fmt: skip
    records = []
    for key in keys:
        points = points_of[key]
        tenures = tenures_of[key.unit_code]
        start, end = plan_period(key.indicator, key.plan_year)
        deputies = [t for t in tenures if t.indicator == key.indicator]
        for answerable_as, candidates, roles in (
            ("head", tenures, (Role.HEAD, Role.ACTING_HEAD)),
            ("deputy_in_charge", deputies, (Role.DEPUTY_IN_CHARGE,)),
        ):
            for stint in attribute(candidates, points, start, end, roles):
                tenure = stint.tenure
                records.append(
                    (
                        key.unit_code, key.indicator, key.plan_year, answerable_as, stint.start, stint.end,
                        tenure.leader_id if tenure else None, tenure.leader_name if tenure else None,
                        tenure.role.value if tenure else None, tenure.tenure_id if tenure else None,
                        tenure.start_date if tenure else None, tenure.end_date if tenure else None,
                        stint.rate_at_start, stint.rate_at_end, stint.gap_at_start, stint.gap_at_end,
                        stint.gap_arisen, stint.months_behind,
                    )
                )  # fmt: skip
    await conn.execute(
        "DELETE FROM leader_accountability a USING unnest($1::text[], $2::text[], $3::int[]) AS k(u, i, y)"
        " WHERE (a.unit_code, a.indicator, a.plan_year) = (k.u, k.i, k.y)",
        [k.unit_code for k in keys],
        [k.indicator for k in keys],
        [k.plan_year for k in keys],
    )
    await conn.copy_records_to_table("leader_accountability", records=records, columns=_ACCOUNTABILITY_COLUMNS)


async def _successor_keys(conn: asyncpg.Connection, keys: set[ProgressKey], successors: set[str]) -> set[ProgressKey]:
    """The keys of units whose history includes the touched ones: their successors by merger, and the
    successors of new mergers, for every indicator and year their predecessors reported."""
    rows = await conn.fetch(
        "SELECT DISTINCT m.successor_code, f.indicator, f.plan_year FROM unit_mergers m"
        " JOIN figures f ON f.unit_code IN (m.predecessor_code, m.successor_code)"
        " WHERE m.predecessor_code = ANY($1::text[]) OR m.successor_code = ANY($2::text[])",
        sorted({k.unit_code for k in keys}),
        sorted(successors),
    )
    return {ProgressKey(r["successor_code"], r["indicator"], r["plan_year"]) for r in rows}
