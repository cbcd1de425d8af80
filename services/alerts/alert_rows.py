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
    CommitmentChecked,
    DeadlineReminded,
    DomainEvent,
    ExplanationRequested,
    ExplanationSubmitted,
)


async def apply_alert_event(
    conn: asyncpg.Connection, event: DomainEvent, position: int, unit_name: str | None, at: dt.datetime | None = None
) -> asyncpg.Record | None:
    """The `alerts` row after one lifecycle event, returned (None for an event that changes no alert's row: a
    reminder, a commitment checked). `at`: when it was recorded (a replay gives the event's `recorded_at`,
    which is the `now()` of the transaction that recorded it live)."""
    row: asyncpg.Record | None = None
    if isinstance(event, AlertRaised):
        row = await _raised(conn, event, position, unit_name, at)
    elif isinstance(event, AlertRefreshed):
        row = await _update(
            conn, event.fingerprint, at, (), severity=event.severity, summary=event.summary, evidence=event.evidence,
            as_of=event.as_of, responsible_leader_id=event.responsible_leader_id,
            responsible_leader_name=event.responsible_leader_name,
        )  # fmt: skip
    elif isinstance(event, DeadlineReminded):  # changes no alert: remembered so each deadline is reminded once
        await conn.execute(
            "INSERT INTO alert_reminders (deadline, subject, due, unit_code, position) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT DO NOTHING",
            event.deadline, event.subject(), event.due, event.unit_code, position,
        )  # fmt: skip
    elif isinstance(event, AlertEscalated):
        row = await _update(conn, event.fingerprint, at, ("escalated_at",), escalated_to=event.to_committee)
        if event.deadline is not None:
            await conn.execute(
                "INSERT INTO alert_deadline_escalations (fingerprint, deadline, due, position) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT DO NOTHING",
                event.fingerprint, event.deadline, event.deadline_due, position,
            )  # fmt: skip
    elif isinstance(event, AlertAcknowledged):
        row = await _update(
            conn, event.fingerprint, at, ("acknowledged_at",), acknowledged_by=event.by, acknowledged_note=event.note
        )
    elif isinstance(event, AlertSilenced):
        row = await _update(
            conn, event.fingerprint, at, (), silenced_until=event.until, silenced_by=event.by,
            silence_reason=event.reason,
        )  # fmt: skip
    elif isinstance(event, AlertResolved):
        row = await _update(
            conn, event.fingerprint, at, ("resolved_at",), status="resolved", resolved_by=event.resolved_by,
            resolution=event.conclusion or event.reason, resolved_as_of=event.as_of,
            conclusion_outcome=event.outcome, conclusion_document=event.document or None,
        )  # fmt: skip
    elif isinstance(event, ExplanationRequested):
        row = await _explanation_requested(conn, event, position, at)
    elif isinstance(event, ExplanationSubmitted):
        row = await _explanation_submitted(conn, event, position, at)
    elif isinstance(event, CommitmentChecked):
        await conn.execute(
            "UPDATE alert_commitments SET outcome = $3, figures_as_of = $4, reached = $5"
            " WHERE position = $1 AND ordinal = $2",
            event.commitment_position, event.ordinal, "kept" if event.kept else "missed", event.figures_as_of,
            event.reached,
        )  # fmt: skip
    return row


async def _raised(
    conn: asyncpg.Connection, event: AlertRaised, position: int, unit_name: str | None, at: dt.datetime | None
) -> asyncpg.Record:
    """A new alert's row, or a resolved one's opened again as new: every later step's columns cleared."""
    row: asyncpg.Record = await conn.fetchrow(
        "INSERT INTO alerts (fingerprint, unit_code, unit_name, indicator, plan_year, rule, period, severity,"
        " status, as_of, summary, responsible_leader_id, responsible_leader_name, committee, evidence,"
        " raised_position, raised_at, updated_at, raised_as_of)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $11, $12, $13, $14, $15,"
        " coalesce($16::timestamptz, now()), coalesce($16::timestamptz, now()), $9)"
        " ON CONFLICT (fingerprint) DO UPDATE SET unit_name = $3, indicator = $4, plan_year = $5, rule = $6,"
        " period = $7, severity = $8, status = 'open', as_of = $9, raised_as_of = $9, resolved_as_of = NULL,"
        " summary = $10, responsible_leader_id = $11, responsible_leader_name = $12, committee = $13,"
        " evidence = $14, raised_position = $15, raised_at = coalesce($16::timestamptz, now()),"
        " updated_at = coalesce($16::timestamptz, now()), escalated_to = NULL,"
        " escalated_at = NULL, acknowledged_by = NULL, acknowledged_note = NULL, acknowledged_at = NULL,"
        " silenced_until = NULL, silenced_by = NULL, silence_reason = NULL, resolved_at = NULL,"
        " resolved_by = NULL, resolution = NULL RETURNING *",
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
    return row


async def _explanation_requested(
    conn: asyncpg.Connection, event: ExplanationRequested, position: int, at: dt.datetime | None
) -> asyncpg.Record | None:
    """The alert's review asked for (again: a new request clears the earlier answer)."""
    await conn.execute(
        "INSERT INTO alert_reviews (fingerprint, unit_code, leader_id, leader_name, requested_by, requested_at,"
        " requested_position, due, note) VALUES ($1, $2, $3, $4, $5, coalesce($6::timestamptz, now()), $7, $8, $9)"
        " ON CONFLICT (fingerprint) DO UPDATE SET unit_code = $2, leader_id = $3, leader_name = $4,"
        " requested_by = $5, requested_at = coalesce($6::timestamptz, now()), requested_position = $7, due = $8,"
        " note = $9, explained_by = NULL, explained_at = NULL, explained_position = NULL, on_behalf = NULL,"
        " causes = NULL, explanation = NULL, document = NULL",
        event.fingerprint, event.unit_code, event.leader_id, event.leader_name, event.by, at, position, event.due,
        event.note,
    )  # fmt: skip
    return await _update(conn, event.fingerprint, at, ())


async def _explanation_submitted(
    conn: asyncpg.Connection, event: ExplanationSubmitted, position: int, at: dt.datetime | None
) -> asyncpg.Record | None:
    """The answer on the review, and each commitment it makes, to be checked against the figures."""
    await conn.execute(
        "UPDATE alert_reviews SET explained_by = $2, explained_at = coalesce($3::timestamptz, now()),"
        " explained_position = $4, on_behalf = $5, causes = $6, explanation = $7, document = $8"
        " WHERE fingerprint = $1",
        event.fingerprint, event.by, at, position, event.on_behalf, event.causes, event.text, event.document,
    )  # fmt: skip
    await conn.executemany(
        "INSERT INTO alert_commitments (position, ordinal, fingerprint, unit_code, leader_id, indicator, due,"
        " rate, amount, plan_year) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, a.plan_year FROM alerts a"
        " WHERE a.fingerprint = $3 ON CONFLICT DO NOTHING",
        [
            (position, n, event.fingerprint, event.unit_code, event.leader_id, c.indicator.value, c.by, c.rate,
             c.amount)
            for n, c in enumerate(event.commitments, start=1)
        ],
    )  # fmt: skip
    return await _update(conn, event.fingerprint, at, ())


async def _update(
    conn: asyncpg.Connection, fingerprint: str, at: dt.datetime | None, stamped: tuple[str, ...], **values: object
) -> asyncpg.Record | None:
    """Set `values` on one alert's row, and the `stamped` columns and `updated_at` to when the event was
    recorded (now, live); the row as it is now. Column names come from this module only."""
    sets = [f"{column} = ${number}" for number, column in enumerate(values, start=3)]
    sets += [f"{column} = coalesce($2::timestamptz, now())" for column in (*stamped, "updated_at")]
    query = f"UPDATE alerts SET {', '.join(sets)} WHERE fingerprint = $1 RETURNING *"
    row: asyncpg.Record | None = await conn.fetchrow(query, fingerprint, at, *values.values())
    return row
