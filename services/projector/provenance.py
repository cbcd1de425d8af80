"""Where a number came from: the reports that make up a year to date (with the reports they superseded)
and the decisions that set a plan, each traced to its event in the store and the submission that
brought it — who sent it, by which channel, when, and the source document's date."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from services.projector.actuals import counted_reports
from services.projector.progress_rows import fetch_key_figures
from services.projector.touched import EVER, ProgressKey


@dataclass(frozen=True)
class Recorded:
    """An event's envelope: what the store knows of how it arrived."""

    position: int
    event_type: str
    submitted_by: str
    channel: str
    recorded_at: dt.datetime
    submission: str | None  # the source's own report id (idempotency key), when it sent one


@dataclass(frozen=True)
class ReportSource:
    recorded: Recorded
    unit_code: str  # the unit that reported it (a predecessor's, for a merged unit)
    category: str
    project_code: str
    as_of: dt.date
    amount: Decimal
    cumulative: bool
    known_on: dt.date  # the source document's date, else the day recorded
    correction_reason: str | None
    superseded: tuple[Recorded, ...]  # earlier reports for the same line and date


@dataclass(frozen=True)
class PlanSource:
    recorded: Recorded
    amount: Decimal
    late_supplement: Decimal
    decision_number: str
    decision_date: dt.date | None
    decision_authority: str
    reason: str


async def recorded(conn: asyncpg.Connection, positions: list[int]) -> dict[int, Recorded]:
    """The envelopes of `positions`, with the submission each came in (a submission's events are
    contiguous: the one whose first position is the greatest at or below it, if it reaches it)."""
    rows = await conn.fetch(
        "SELECT e.position, e.event_type, e.submitted_by, e.channel, e.recorded_at, s.idempotency_key"
        " FROM unnest($1::bigint[]) AS p(position) JOIN events e USING (position)"
        " LEFT JOIN LATERAL (SELECT * FROM submissions s WHERE s.first_position <= p.position"
        " ORDER BY s.first_position DESC LIMIT 1) s ON s.last_position >= p.position",
        sorted(set(positions)),
    )
    return {
        r["position"]: Recorded(
            r["position"], r["event_type"], r["submitted_by"], r["channel"], r["recorded_at"], r["idempotency_key"]
        )
        for r in rows
    }


async def year_to_date_sources(
    conn: asyncpg.Connection, key: ProgressKey, day: dt.date, known_on: dt.date | None = None
) -> list[ReportSource]:
    """The reports the projector adds up for `key`'s year to date on `day` (as known on `known_on`)."""
    figures_of, merged = await fetch_key_figures(conn, [key], known_on, [EVER])
    counted = counted_reports(key.unit_code, figures_of.get((key.unit_code, key.indicator, key.plan_year), []),
                              merged.merged_on, day, merged.consolidated)  # fmt: skip
    positions = [p.position for c in counted for p in (c.figure, *c.superseded)]
    envelopes = await recorded(conn, positions)
    details = {
        r["position"]: r
        for r in await conn.fetch(
            "SELECT position, known_on, correction_reason FROM figures WHERE position = ANY($1::bigint[])",
            [c.figure.position for c in counted],
        )
    }
    sources = []
    for c in counted:
        figure = c.figure
        # A dissolved unit's handed-over year to date is no report: its decision, known from its date.
        detail = details.get(figure.position) or {"known_on": figure.as_of, "correction_reason": None}
        sources.append(
            ReportSource(
                recorded=envelopes[figure.position],
                unit_code=figure.source,
                category=figure.category,
                project_code=figure.project_code,
                as_of=figure.as_of,
                amount=figure.amount,
                cumulative=figure.cumulative,
                known_on=detail["known_on"],
                correction_reason=detail["correction_reason"],
                superseded=tuple(envelopes[p.position] for p in c.superseded),
            )
        )
    return sources


async def plan_sources(
    conn: asyncpg.Connection,
    key: ProgressKey,
    known_on: dt.date | None = None,
    in_force_on: dt.date | None = None,
    assigned_by: str | None = None,
) -> list[PlanSource]:
    """The decisions that set and adjusted `key`'s plan (those in force by `in_force_on`, of the plan assigned by
    `assigned_by`, when given), in the order they superseded each other: the last one stands."""
    rows = await conn.fetch(
        "SELECT h.position, h.amount, h.late_supplement, e.payload::text AS payload FROM target_history h"
        " JOIN events e USING (position) WHERE (h.unit_code, h.indicator, h.plan_year) = ($1, $2, $3)"
        " AND ($4::date IS NULL OR h.known_on <= $4) AND ($5::date IS NULL OR h.in_force_from <= $5)"
        " AND ($6::text IS NULL OR h.assigned_by = $6) ORDER BY h.in_force_from, h.position",
        key.unit_code,
        key.indicator,
        key.plan_year,
        known_on,
        in_force_on,
        assigned_by,
    )
    envelopes = await recorded(conn, [r["position"] for r in rows])
    sources = []
    for r in rows:
        payload = json.loads(r["payload"])
        decided = payload.get("decision_date")
        sources.append(
            PlanSource(
                recorded=envelopes[r["position"]],
                amount=r["amount"],
                late_supplement=r["late_supplement"],
                decision_number=payload.get("decision_number", ""),
                decision_date=dt.date.fromisoformat(decided) if decided else None,
                decision_authority=payload.get("decision_authority", ""),
                reason=payload.get("reason", ""),
            )
        )
    return sources
