"""`pim alerts rebuild`: the `alerts` table (and its reviews and commitments) replayed from the alert events
in the store. Every change to an alert is an event (raised, refreshed, escalated, acknowledged, silenced,
resolved; an explanation requested, one submitted with its commitments), so the tables are a projection of
them and can be dropped and made again; a test holds the rebuilt rows equal to the live ones. What they do
not hold is not rebuilt: the outbox (deliveries already made stay made) and the record of evaluations (the
next sweep evaluates every unit again and finds the alerts as they are)."""

from __future__ import annotations

import asyncpg

from services.alerts.alert_rows import apply_alert_event
from shared.event_store import recorded_event
from shared.events import ALERT_EVENTS

ALERT_TYPES = sorted(cls.model_fields["type"].default for cls in ALERT_EVENTS)


async def rebuild_alerts(pool: asyncpg.Pool) -> int:
    """Replace every row of `alerts` by the replay of the alert events; return how many were replayed."""
    async with pool.acquire() as conn, conn.transaction():
        # Evaluations and committee actions wait for the new rows; readers see the old ones until the commit.
        await conn.execute("LOCK TABLE alerts IN EXCLUSIVE MODE")
        await conn.execute(
            "DELETE FROM alerts; DELETE FROM alert_reviews; DELETE FROM alert_commitments;"
            " DELETE FROM alert_deadline_escalations; DELETE FROM alert_reminders"
        )
        # The name shown with a unit's alerts, as the evaluation takes it (the code of an unregistered unit).
        names = {r["unit_code"]: r["name"] for r in await conn.fetch("SELECT unit_code, name FROM units")}
        rows = await conn.fetch(
            "SELECT * FROM events WHERE event_type = ANY($1::text[]) ORDER BY position", ALERT_TYPES
        )
        for row in rows:
            recorded = recorded_event(row)
            event = recorded.event()
            unit = event.unit_code  # type: ignore[union-attr]
            await apply_alert_event(conn, event, recorded.position, names.get(unit, unit), recorded.recorded_at)
    return len(rows)
