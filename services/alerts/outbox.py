"""The alert outbox: notifications written with the alert event, delivered after commit.

A crash after the decision and before delivery loses nothing (the row is there, undelivered); a crash
after delivery and before the row is marked re-sends it with the same idempotency key
(`pim-alert-<position>`), by which every receiver can recognise it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any, Protocol

import asyncpg

from shared.contracts import AlertNotification
from shared.events import AlertAcknowledged, AlertRefreshed, AlertResolved, AlertSilenced, DomainEvent
from shared.observability import ALERT_DELIVERIES
from shared.settings import Settings

log = logging.getLogger(__name__)

OUTBOX_CHANNEL = "pim_alert_outbox"  # NOTIFY after rows enter the outbox: the dispatcher wakes
MAX_ATTEMPTS = 12
MAX_BACKOFF_SECONDS = 600
# Channels that carry lifecycle steps people act on; the Kafka topic carries every event.
PEOPLE_CHANNELS = ("webhook", "email", "grafana")


def idempotency_key(position: int) -> str:
    return f"pim-alert-{position}"


def enabled_channels(settings: Settings) -> list[str]:
    channels = ["kafka"]
    if settings.pim_alert_webhook_url:
        channels.append("webhook")
    if settings.pim_smtp_host:
        channels.append("email")
    if settings.pim_grafana_url:
        channels.append("grafana")
    if settings.pim_alertmanager_url:
        channels.append("alertmanager")
    return channels


def alert_json(alert: Mapping[str, Any]) -> dict[str, Any]:
    """An alerts row with JSON values (dates as ISO strings)."""
    return {k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v) for k, v in alert.items()}


def alert_view(alert: Mapping[str, Any], dashboard_url: str) -> dict[str, Any]:
    """An alerts row as channels read it: JSON values, where it is routed, and its dashboard link."""
    state = alert_json(alert)
    return {
        "alert": state,
        "routed_to": state.get("escalated_to") or state["committee"],
        "dashboard_url": f"{dashboard_url}/d/pim-unit/pim-unit?var-unit={state['unit_code']}",
    }


def notification(event: DomainEvent, position: int, alert: Mapping[str, Any], dashboard_url: str) -> dict[str, Any]:
    """What every channel formats: the event, and the alert as it stands after it."""
    message = AlertNotification(
        idempotency_key=idempotency_key(position),
        position=position,
        kind=event.__class__.__name__,
        event=event.model_dump(mode="json"),
        **alert_view(alert, dashboard_url),
    )
    return message.model_dump(mode="json")


def channels_for(event: DomainEvent, channels: list[str], silenced: bool) -> list[str]:
    """Every event goes to Kafka; acknowledgements, silences and refreshed evidence only there (a refresh
    reaches people when the severity changed); a silenced alert's notifications are held back from people
    (its resolution still goes out)."""
    if isinstance(event, AlertAcknowledged | AlertSilenced) or (
        isinstance(event, AlertRefreshed) and event.previous_severity is None
    ):
        return [c for c in channels if c == "kafka"]
    if silenced and not isinstance(event, AlertResolved):
        return [c for c in channels if c not in PEOPLE_CHANNELS]
    return channels


async def enqueue(
    conn: asyncpg.Connection,
    event: DomainEvent,
    position: int,
    message: dict[str, Any],
    channels: list[str],
    *,
    silenced: bool,
) -> None:
    targets = channels_for(event, channels, silenced)
    await conn.executemany(
        "INSERT INTO alert_outbox (position, channel, payload) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        [(position, channel, message) for channel in targets],
    )
    await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")


class Sender(Protocol):
    async def send(self, message: dict[str, Any]) -> None:
        """Deliver one notification; raise to have it retried later."""


class Dispatcher:
    """Delivers the due outbox rows of the channels it has senders for; several instances may run (rows
    are claimed with SKIP LOCKED)."""

    def __init__(self, pool: asyncpg.Pool, senders: Mapping[str, Sender]) -> None:
        self._pool = pool
        self._senders = senders
        self._wake = asyncio.Event()

    async def deliver_due(self, limit: int = 100) -> int:
        """Deliver what is due now; return how many rows were delivered."""
        delivered = 0
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT position, channel, payload, attempts FROM alert_outbox"
                " WHERE delivered_at IS NULL AND next_attempt_at <= now() AND attempts < $1 AND channel = ANY($3)"
                " ORDER BY position, channel LIMIT $2 FOR UPDATE SKIP LOCKED",
                MAX_ATTEMPTS,
                limit,
                list(self._senders),
            )
            for row in rows:
                try:
                    await self._senders[row["channel"]].send(row["payload"])
                except Exception as error:  # any failure of a peer is retried later
                    backoff = min(2 ** row["attempts"], MAX_BACKOFF_SECONDS)
                    log.warning(
                        "alert %s via %s failed (%s); retry in %ds", row["position"], row["channel"], error, backoff
                    )
                    await conn.execute(
                        "UPDATE alert_outbox SET attempts = attempts + 1, last_error = $3,"
                        " next_attempt_at = now() + make_interval(secs => $4) WHERE position = $1 AND channel = $2",
                        row["position"],
                        row["channel"],
                        f"{type(error).__name__}: {error}"[:1000],
                        backoff,
                    )
                    ALERT_DELIVERIES.labels(row["channel"], "failed").inc()
                    continue
                ALERT_DELIVERIES.labels(row["channel"], "delivered").inc()
                await conn.execute(
                    "UPDATE alert_outbox SET attempts = attempts + 1, delivered_at = now(), last_error = NULL"
                    " WHERE position = $1 AND channel = $2",
                    row["position"],
                    row["channel"],
                )
                delivered += 1
        return delivered

    async def run(self, poll_seconds: float = 5.0) -> None:
        """Deliver as rows arrive (woken by NOTIFY), and retry failed ones as they fall due."""
        listener = await self._pool.acquire()
        wake = lambda *_: self._wake.set()  # noqa: E731
        try:
            await listener.add_listener(OUTBOX_CHANNEL, wake)
            while True:
                self._wake.clear()
                if await self.deliver_due() == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)
        finally:
            await listener.remove_listener(OUTBOX_CHANNEL, wake)
            await self._pool.release(listener)
