"""The `alerts` table as a projection of the alert events: each lifecycle event's effect on its row,
applied live by the alerts service and replayed by `pim alerts rebuild`."""

from __future__ import annotations

import datetime as dt

import asyncpg

from shared.events import (
    AlertAcknowledged,
    AlertEscalated,
    AlertRaised,
    AlertRefreshed,
    AlertResolved,
    AlertSilenced,
    DomainEvent,
)


async def apply_alert_event(
    conn: asyncpg.Connection, event: DomainEvent, position: int, unit_name: str | None, at: dt.datetime | None = None
) -> None:
    """The `alerts` row after one lifecycle event. `at`: when it was recorded (a replay gives the event's
    `recorded_at`, which is the `now()` of the transaction that recorded it live)."""
    if isinstance(event, AlertRaised):
        await conn.execute(
            "INSERT INTO alerts (fingerprint, unit_code, unit_name, indicator, plan_year, rule, period, severity,"
            " status, as_of, summary, responsible_leader_id, responsible_leader_name, committee, evidence,"
            " raised_position, raised_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $11, $12, $13, $14, $15,"
            " coalesce($16::timestamptz, now()), coalesce($16::timestamptz, now()))"
            " ON CONFLICT (fingerprint) DO UPDATE SET unit_name = $3, indicator = $4, plan_year = $5, rule = $6,"
            " period = $7, severity = $8, status = 'open', as_of = $9,"
            " summary = $10, responsible_leader_id = $11, responsible_leader_name = $12, committee = $13,"
            " evidence = $14, raised_position = $15, raised_at = coalesce($16::timestamptz, now()),"
            " updated_at = coalesce($16::timestamptz, now()), escalated_to = NULL,"
            " escalated_at = NULL, acknowledged_by = NULL, acknowledged_note = NULL, acknowledged_at = NULL,"
            " silenced_until = NULL, silenced_by = NULL, silence_reason = NULL, resolved_at = NULL,"
            " resolved_by = NULL, resolution = NULL",
            event.fingerprint,
            event.unit_code,
            unit_name,
            event.indicator.value if event.indicator else None,
            event.plan_year,
            event.rule,
            event.period,
            event.severity,
            event.as_of,
            event.summary,
            event.responsible_leader_id,
            event.responsible_leader_name,
            event.committee,
            event.evidence,
            position,
            at,
        )
    elif isinstance(event, AlertRefreshed):
        await conn.execute(
            "UPDATE alerts SET severity = $2, summary = $3, evidence = $4, as_of = $5, responsible_leader_id = $6,"
            " responsible_leader_name = $7, updated_at = coalesce($8::timestamptz, now()) WHERE fingerprint = $1",
            event.fingerprint,
            event.severity,
            event.summary,
            event.evidence,
            event.as_of,
            event.responsible_leader_id,
            event.responsible_leader_name,
            at,
        )
    elif isinstance(event, AlertEscalated):
        await conn.execute(
            "UPDATE alerts SET escalated_to = $2, escalated_at = coalesce($3::timestamptz, now()),"
            " updated_at = coalesce($3::timestamptz, now()) WHERE fingerprint = $1",
            event.fingerprint,
            event.to_committee,
            at,
        )
    elif isinstance(event, AlertAcknowledged):
        await conn.execute(
            "UPDATE alerts SET acknowledged_by = $2, acknowledged_note = $3,"
            " acknowledged_at = coalesce($4::timestamptz, now()),"
            " updated_at = coalesce($4::timestamptz, now()) WHERE fingerprint = $1",
            event.fingerprint,
            event.by,
            event.note,
            at,
        )
    elif isinstance(event, AlertSilenced):
        await conn.execute(
            "UPDATE alerts SET silenced_until = $2, silenced_by = $3, silence_reason = $4,"
            " updated_at = coalesce($5::timestamptz, now())"
            " WHERE fingerprint = $1",
            event.fingerprint,
            event.until,
            event.by,
            event.reason,
            at,
        )
    elif isinstance(event, AlertResolved):
        await conn.execute(
            "UPDATE alerts SET status = 'resolved', resolved_at = coalesce($4::timestamptz, now()), resolved_by = $2,"
            " resolution = $3,"
            " updated_at = coalesce($4::timestamptz, now()) WHERE fingerprint = $1",
            event.fingerprint,
            event.resolved_by,
            event.conclusion or event.reason,
            at,
        )
