"""Applies ledger events to the read models, in one transaction with the consumer checkpoint.

Every write is idempotent and order-independent: rows carry the position of the event that wrote them
and a later position wins, so redelivered or reordered events leave the same tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from services.projector.progress import assess, expected_pace, milestones_for
from shared.events import (
    ConfidenceVoteRecorded,
    FigureCorrected,
    FigureFields,
    Indicator,
    LeaderAppointed,
    LeaderLeft,
    RecordedEvent,
    TargetAdjusted,
    TargetSet,
    UnitRegistered,
    UnitsMerged,
)


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


async def apply_events(
    conn: asyncpg.Connection, events: Sequence[RecordedEvent], tolerance: Decimal
) -> list[ProgressChanged]:
    """Write `events` into the read models and recompute the progress rows they touch."""
    units, mergers, appointments, departures, targets, figures, votes = [], [], [], [], [], [], []
    touched: set[ProgressKey] = set()
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
                touched.add(ProgressKey(event.unit_code, event.indicator.value, event.plan_year))
            case FigureFields():
                indicator = event.indicator.value
                reason = event.reason if isinstance(event, FigureCorrected) else None
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
                    )
                )
                touched.add(ProgressKey(event.unit_code, indicator, event.plan_year))
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
    if figures:
        await conn.executemany(
            "INSERT INTO figures (position, unit_code, indicator, plan_year, category, project_code, as_of,"
            " amount_kind, amount, correction_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            " ON CONFLICT (position) DO NOTHING",
            figures,
        )
    if votes:
        await conn.executemany(
            "INSERT INTO confidence_votes (position, unit_code, leader_id, vote_date, voters, high, confidence, low)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (position) DO NOTHING",
            votes,
        )
    return await recompute_progress(conn, sorted(touched), tolerance)


# For each key: the latest reported date D, and the year-to-date total on D. Per category and project,
# the report that counts for a date is the one with the highest position (a later report supersedes);
# the total is the latest cumulative on or before D plus the period amounts reported after it.
_PROGRESS_INPUTS = """
WITH keys AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) AS k(unit_code, indicator, plan_year)
), latest AS (
    SELECT k.*, max(f.as_of) AS as_of, max(f.position) AS last_figure
    FROM keys k JOIN figures f USING (unit_code, indicator, plan_year)
    GROUP BY k.unit_code, k.indicator, k.plan_year
), effective AS (
    SELECT DISTINCT ON (f.unit_code, f.indicator, f.plan_year, f.category, f.project_code, f.as_of)
           f.unit_code, f.indicator, f.plan_year, f.category, f.project_code, f.as_of, f.amount_kind, f.amount
    FROM figures f JOIN latest l USING (unit_code, indicator, plan_year)
    WHERE f.as_of <= l.as_of
    ORDER BY f.unit_code, f.indicator, f.plan_year, f.category, f.project_code, f.as_of, f.position DESC
), base AS (
    SELECT DISTINCT ON (unit_code, indicator, plan_year, category, project_code)
           unit_code, indicator, plan_year, category, project_code, as_of AS base_date, amount AS base_amount
    FROM effective WHERE amount_kind = 'cumulative'
    ORDER BY unit_code, indicator, plan_year, category, project_code, as_of DESC
), totals AS (
    SELECT e.unit_code, e.indicator, e.plan_year,
           coalesce(sum(e.amount) FILTER (WHERE e.amount_kind = 'cumulative' AND e.as_of = b.base_date), 0)
           + coalesce(sum(e.amount) FILTER (
                 WHERE e.amount_kind = 'period' AND (b.base_date IS NULL OR e.as_of > b.base_date)), 0)
           AS actual_ytd
    FROM effective e LEFT JOIN base b USING (unit_code, indicator, plan_year, category, project_code)
    GROUP BY e.unit_code, e.indicator, e.plan_year
)
SELECT l.unit_code, l.indicator, l.plan_year, l.as_of, t.amount AS target, coalesce(x.actual_ytd, 0) AS actual_ytd,
       greatest(l.last_figure, t.position) AS version
FROM latest l
JOIN totals x USING (unit_code, indicator, plan_year)
LEFT JOIN targets t USING (unit_code, indicator, plan_year)
"""


async def recompute_progress(
    conn: asyncpg.Connection, keys: Iterable[ProgressKey], tolerance: Decimal
) -> list[ProgressChanged]:
    keys = list(keys)
    if not keys:
        return []
    rows = await conn.fetch(
        _PROGRESS_INPUTS,
        [k.unit_code for k in keys],
        [k.indicator for k in keys],
        [k.plan_year for k in keys],
    )
    upserts = []
    changes = []
    for row in rows:
        pace = expected_pace(milestones_for(Indicator(row["indicator"])), row["plan_year"], row["as_of"])
        progress = assess(row["target"], row["actual_ytd"], pace, tolerance)
        upserts.append(
            (
                row["unit_code"],
                row["indicator"],
                row["plan_year"],
                row["as_of"],
                progress.target,
                progress.actual_ytd,
                progress.rate,
                progress.expected_pace,
                progress.gap_to_pace,
                progress.status.value,
                row["version"],
            )
        )
        changes.append(
            ProgressChanged(
                row["unit_code"],
                row["indicator"],
                row["plan_year"],
                row["as_of"],
                progress.status.value,
                row["version"],
            )
        )
    await conn.executemany(
        "INSERT INTO unit_progress (unit_code, indicator, plan_year, as_of, target, actual_ytd, rate,"
        " expected_pace, gap_to_pace, status, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (unit_code, indicator, plan_year) DO UPDATE SET as_of = $4, target = $5,"
        " actual_ytd = $6, rate = $7, expected_pace = $8, gap_to_pace = $9, status = $10, version = $11",
        upserts,
    )
    return changes
