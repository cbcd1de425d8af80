"""Reading alerts for committees: filtered by committee, status and unit, within a token's jurisdiction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from decimal import Decimal
from typing import Any, Literal

import asyncpg

from services.alerts.outbox import alert_json
from shared.events import CONCLUSIONS_WITH_FAULT, SYSTEM_RESOLVER
from shared.money import plain_decimal

StatusFilter = Literal["open", "resolved", "all"]


async def list_alerts(
    conn: asyncpg.Connection,
    *,
    committee: str | None = None,
    status: StatusFilter = "open",
    unit_code: str | None = None,
    scope: Collection[str] | None = None,
    leader_id: str | None = None,
    fingerprint: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Alerts newest first, each with `since` (its first data date) and `age_days` as the alerts service
    counts them (the `alert_ages` view the dashboards read too). `committee` matches the committee an
    alert was raised for or escalated to; `scope` (units a token may see) of None means every unit;
    `leader_id`: only the alerts that name that leader as answerable."""
    rows = await conn.fetch(
        "SELECT a.*, g.since, g.age_days, r.due AS explanation_due, r.leader_id AS explanation_asked_of,"
        " r.explained_at FROM alerts a JOIN alert_ages g USING (fingerprint)"
        " LEFT JOIN alert_reviews r USING (fingerprint)"
        " WHERE ($1::text IS NULL OR committee = $1 OR escalated_to = $1)"
        " AND ($2 = 'all' OR status = $2) AND ($3::text IS NULL OR a.unit_code = $3)"
        " AND ($4::text[] IS NULL OR a.unit_code = ANY($4))"
        " AND ($6::text IS NULL OR responsible_leader_id = $6 OR r.leader_id = $6)"
        " AND ($7::text IS NULL OR fingerprint = $7)"
        " ORDER BY raised_at DESC, fingerprint LIMIT $5",
        committee,
        status,
        unit_code,
        None if scope is None else list(scope),
        limit,
        leader_id,
        fingerprint,
    )
    return [alert_json(r) for r in rows]


async def in_jurisdiction(conn: asyncpg.Connection, fingerprint: str, scope: Collection[str] | None) -> bool:
    """The alert exists and is about a unit in `scope` (None: every unit)."""
    unit: str | None = await conn.fetchval("SELECT unit_code FROM alerts WHERE fingerprint = $1", fingerprint)
    return unit is not None and (scope is None or unit in scope)


async def alert_history(conn: asyncpg.Connection, fingerprint: str, unit_code: str) -> list[dict[str, Any]]:
    """Every step of an alert's life as the store keeps it (raised, refreshed, escalated, acknowledged,
    silenced, resolved; a reopened alert's earlier lives too), oldest first, each with who took it and the
    notifications it made: channel, whom an e-mail reached, and delivered, waiting (attempts so far, the last
    error) or dead-lettered."""
    events = await conn.fetch(
        "SELECT position, event_type, recorded_at, payload FROM events"
        " WHERE stream_id = $1 AND payload->>'fingerprint' = $2 ORDER BY position",
        unit_code,
        fingerprint,
    )
    sent: dict[int, list[dict[str, Any]]] = {}
    for row in await conn.fetch(
        "SELECT o.position, o.channel, o.attempts, o.delivered_at, o.dead_lettered_at, o.last_error,"
        " coalesce((SELECT array_agg(r.address ORDER BY r.address) FROM alert_email_recipients r"
        "   WHERE o.channel = 'email' AND r.position = o.position), '{}') AS recipients"
        " FROM alert_outbox o WHERE o.position = ANY($1::bigint[]) ORDER BY o.position, o.channel",
        [e["position"] for e in events],
    ):
        state = "delivered" if row["delivered_at"] else "dead_lettered" if row["dead_lettered_at"] else "waiting"
        at = row["delivered_at"] or row["dead_lettered_at"]
        sent.setdefault(row["position"], []).append(
            {
                "channel": row["channel"],
                "state": state,
                "attempts": row["attempts"],
                "at": at and at.isoformat(),
                "recipients": list(row["recipients"]),
                "last_error": row["last_error"],
            }
        )
    return [_step(e, sent.get(e["position"], [])) for e in events]


def _step(event: asyncpg.Record, notifications: list[dict[str, Any]]) -> dict[str, Any]:
    payload: dict[str, Any] = event["payload"]  # jsonb, decoded by the pool
    return {
        "position": event["position"],
        "type": event["event_type"],
        "recorded_at": event["recorded_at"].isoformat(),
        "by": payload.get("by") or payload.get("resolved_by") or SYSTEM_RESOLVER,
        # what the step says, in its own words: a note, a reason, a conclusion, or the finding's summary
        "text": payload.get("conclusion")
        or payload.get("note")
        or payload.get("summary")
        or payload.get("reason")
        or "",
        "severity": payload.get("severity"),
        "to_committee": payload.get("to_committee"),
        "until": payload.get("until"),
        "notifications": notifications,
    }


async def alert_review(conn: asyncpg.Connection, fingerprint: str) -> dict[str, Any]:
    """The alert's review: the request (asked of whom, by whom, due), the explanation (causes, text, document,
    on behalf or not) and its commitments, or None for each not yet there."""
    review = await conn.fetchrow("SELECT * FROM alert_reviews WHERE fingerprint = $1", fingerprint)
    commitments = await conn.fetch(
        "SELECT indicator, due, rate, amount, leader_id, position, ordinal FROM alert_commitments"
        " WHERE fingerprint = $1 ORDER BY position, ordinal",
        fingerprint,
    )
    return {
        "review": None if review is None else alert_json({k: v for k, v in review.items() if "position" not in k}),
        "commitments": [alert_json({k: _plain(v) for k, v in c.items()}) for c in commitments],
    }


def _plain(value: object) -> object:
    return plain_decimal(value) if isinstance(value, Decimal) else value


async def monthly_digest(
    conn: asyncpg.Connection, first: dt.date, last: dt.date, today: dt.date, scope: Collection[str] | None
) -> dict[str, Any]:
    """A committee's month, from the alerts of its jurisdiction (`scope`: None, every unit), by the day each
    step was recorded (Vietnam's time): alerts opened, explanations asked and given, reviews concluded by a
    committee (and with what), promises due (kept, missed, not yet decided), and what is overdue today."""
    units = None if scope is None else list(scope)
    row = await conn.fetchrow(
        "WITH a AS (SELECT * FROM alerts WHERE $4::text[] IS NULL OR unit_code = ANY($4)),"
        " r AS (SELECT r.* FROM alert_reviews r JOIN a USING (fingerprint)),"
        " c AS (SELECT c.* FROM alert_commitments c JOIN a USING (fingerprint))"
        " SELECT"
        "  (SELECT count(*) FROM a WHERE (raised_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date BETWEEN $1 AND $2)"
        "    AS opened,"
        "  (SELECT count(*) FROM r WHERE (requested_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date BETWEEN $1 AND $2)"
        "    AS asked,"
        "  (SELECT count(*) FROM r WHERE (explained_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date BETWEEN $1 AND $2)"
        "    AS explained,"
        "  (SELECT count(*) FROM a WHERE resolved_by IS DISTINCT FROM $5"
        "    AND (resolved_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date BETWEEN $1 AND $2) AS concluded,"
        "  (SELECT count(*) FROM a WHERE conclusion_outcome = ANY($6::text[])"
        "    AND (resolved_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date BETWEEN $1 AND $2) AS concluded_with_fault,"
        "  (SELECT count(*) FROM c WHERE due BETWEEN $1 AND $2) AS promises_due,"
        "  (SELECT count(*) FROM c WHERE due BETWEEN $1 AND $2 AND outcome = 'kept') AS promises_kept,"
        "  (SELECT count(*) FROM c WHERE due BETWEEN $1 AND $2 AND outcome = 'missed') AS promises_missed,"
        "  (SELECT count(*) FROM r JOIN a USING (fingerprint) WHERE a.status = 'open' AND r.explained_at IS NULL"
        "    AND r.due < $3) AS explanations_overdue,"
        "  (SELECT count(*) FROM a WHERE status = 'open') AS open_now",
        first, last, today, units, SYSTEM_RESOLVER, list(CONCLUSIONS_WITH_FAULT),
    )  # fmt: skip
    assert row is not None
    return {"from": first.isoformat(), "to": last.isoformat(), "today": today.isoformat(), **dict(row)}
