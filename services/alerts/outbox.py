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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast
from urllib.parse import quote

import asyncpg

from shared.contracts import AlertNotification
from shared.events import (
    AlertAcknowledged,
    AlertRefreshed,
    AlertResolved,
    AlertSilenced,
    DeadlineReminded,
    DomainEvent,
)
from shared.notify_listener import notify_listener
from shared.observability import (
    ALERT_DELIVERIES,
    OUTBOX_DEAD_LETTERED,
    OUTBOX_OLDEST_WAITING_SECONDS,
    OUTBOX_WAITING,
)
from shared.settings import AlertsSettings

log = logging.getLogger(__name__)

OUTBOX_CHANNEL = "pim_alert_outbox"  # NOTIFY after rows enter the outbox: the dispatcher wakes
MAX_ATTEMPTS = 12
MAX_BACKOFF_SECONDS = 600
# Channels that carry lifecycle steps people act on; the Kafka topic carries every event.
PEOPLE_CHANNELS = ("webhook", "email", "grafana")


def idempotency_key(position: int) -> str:
    return f"pim-alert-{position}"


def enabled_channels(settings: AlertsSettings) -> list[str]:
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


def dashboard_link(dashboard_url: str, unit_code: str) -> str:
    """The unit's drill-down dashboard, where every channel and the API point a reader."""
    return f"{dashboard_url.rstrip('/')}/d/pim-unit/pim-unit?var-unit={unit_code}"


def alert_page_link(portal_url: str, fingerprint: str) -> str:
    """The alert's page in PIM's web pages, where its committee acts on it."""
    return f"{portal_url.rstrip('/')}/committee/alert?fingerprint={quote(fingerprint, safe='')}"


def alert_view(alert: Mapping[str, Any], dashboard_url: str, portal_url: str | None = None) -> dict[str, Any]:
    """An alerts row as channels read it: JSON values, where it is routed, its dashboard link, and its page
    in the web pages when they have a public address."""
    state = alert_json(alert)
    return {
        "alert": state,
        "routed_to": state.get("escalated_to") or state["committee"],
        "dashboard_url": dashboard_link(dashboard_url, state["unit_code"]),
        "alert_url": alert_page_link(portal_url, state["fingerprint"]) if portal_url else None,
    }


def notification(
    event: DomainEvent, position: int, alert: Mapping[str, Any], dashboard_url: str, portal_url: str | None = None
) -> dict[str, Any]:
    """What every channel formats: the event, and the alert as it stands after it."""
    message = AlertNotification(
        idempotency_key=idempotency_key(position),
        position=position,
        kind=event.__class__.__name__,
        event=event.model_dump(mode="json"),
        **alert_view(alert, dashboard_url, portal_url),
    )
    return message.model_dump(mode="json")


def reminder(
    event: DeadlineReminded, position: int, alert: Mapping[str, Any] | None, unit_name: str, committee: str,
    dashboard_url: str, portal_url: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A reminder as the e-mail reads it: the event, the alert it is about (none for a report owed), the unit."""
    view = alert_view(alert, dashboard_url, portal_url) if alert is not None else {
        "alert": None, "routed_to": committee, "dashboard_url": dashboard_link(dashboard_url, event.unit_code),
        "alert_url": None,
    }  # fmt: skip
    return {"idempotency_key": idempotency_key(position), "position": position, "kind": "DeadlineReminded",
            "event": event.model_dump(mode="json"), "unit": {"unit_code": event.unit_code, "unit_name": unit_name},
            **view}  # fmt: skip


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


# The outbox's rows of any number of events, and the dispatcher woken (at commit), in one round trip: an
# alerts sweep records thousands of events, and queueing them was three or more round trips each.
_ENQUEUE = """
WITH queued AS (
    INSERT INTO alert_outbox (position, channel, payload)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::jsonb[]) ON CONFLICT DO NOTHING
)
SELECT pg_notify($4, '')
"""

Queued = tuple[int, str, dict[str, Any]]  # an outbox row: the event's position, a channel, the message


def outbox_rows(
    event: DomainEvent, position: int, message: dict[str, Any], channels: list[str], *, silenced: bool
) -> list[Queued]:
    """The rows that queue `message` about `event` on each channel it goes to."""
    return [(position, channel, message) for channel in channels_for(event, channels, silenced)]


async def enqueue_rows(conn: asyncpg.Connection, rows: Sequence[Queued]) -> None:
    """Queue the rows (in the caller's transaction) and wake the dispatcher once."""
    if rows:
        positions, channels, messages = zip(*rows, strict=True)
        await conn.execute(_ENQUEUE, list(positions), list(channels), list(messages), OUTBOX_CHANNEL)


class Sender(Protocol):
    async def send(self, message: dict[str, Any]) -> None:
        """Deliver one notification; raise to have it retried later."""


async def _send_all(sender: Sender, messages: list[dict[str, Any]]) -> list[Exception | None]:
    """Each message's outcome (None: delivered): together when the sender can (`send_many`: the Kafka topic,
    all in flight at once), else one after another."""
    many = getattr(sender, "send_many", None)
    if many is not None:
        outcomes: list[Exception | None] = await many(messages)
        return outcomes
    outcomes = []
    for message in messages:
        try:
            await sender.send(message)
        except Exception as error:  # this one is retried later; the next is still tried
            outcomes.append(error)
            continue
        outcomes.append(None)
    return outcomes


@dataclass(frozen=True)
class Gathered:
    position: int
    message: dict[str, Any]


class GatheringSender(Protocol):
    """A channel that sends a round's notifications together (e-mail: one message per person), once none
    has come for `gather_seconds`, and tells who each one reached."""

    gather_seconds: float

    async def send_gathered(
        self, conn: asyncpg.Connection, due: Sequence[Gathered], reached: set[tuple[int, str]]
    ) -> tuple[list[tuple[int, str]], dict[int, Exception]]:
        """Send what is due to whoever it has not `reached` yet; return (position, recipient) reached now
        and the positions that failed (retried later, for the recipients not reached)."""


class Dispatcher:
    """Delivers the due outbox rows of the channels it has senders for; several instances may run (rows
    are claimed with SKIP LOCKED)."""

    def __init__(self, pool: asyncpg.Pool, senders: Mapping[str, Sender | GatheringSender]) -> None:
        self._pool = pool
        # one notification at a time (Kafka, webhook, Grafana, Alertmanager), or a round's together (e-mail)
        self._senders: dict[str, Sender] = {}
        self._gathering: dict[str, GatheringSender] = {}
        for channel, sender in senders.items():
            if hasattr(sender, "send_gathered"):
                self._gathering[channel] = cast(GatheringSender, sender)
            else:
                self._senders[channel] = sender
        self._wake = asyncio.Event()

    async def deliver_due(self, limit: int = 100) -> int:
        """Deliver what is due now; return how many rows were delivered."""
        delivered = 0
        for channel, gathering in self._gathering.items():
            delivered += await self._deliver_gathered(channel, gathering, limit * 10)
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT position, channel, payload, attempts FROM alert_outbox"
                " WHERE delivered_at IS NULL AND dead_lettered_at IS NULL AND next_attempt_at <= now()"
                " AND channel = ANY($2) ORDER BY position, channel LIMIT $1 FOR UPDATE SKIP LOCKED",
                limit,
                list(self._senders),
            )
            by_channel: dict[str, list[asyncpg.Record]] = {}
            for row in rows:  # in position order within each channel
                by_channel.setdefault(row["channel"], []).append(row)
            done: list[tuple[int, str]] = []
            for channel, batch in by_channel.items():
                outcomes = await _send_all(self._senders[channel], [r["payload"] for r in batch])
                for row, error in zip(batch, outcomes, strict=True):
                    if error is not None:  # any failure of a peer is retried later
                        await self._failed(conn, row["position"], channel, row["attempts"] + 1, error)
                        continue
                    ALERT_DELIVERIES.labels(channel, "delivered").inc()
                    done.append((row["position"], channel))
            await _mark_delivered(conn, done)
            delivered += len(done)
        return delivered

    async def _deliver_gathered(self, channel: str, sender: GatheringSender, limit: int) -> int:
        """A round's notifications together, once the round is over: no new one for `gather_seconds` (or
        one has waited ten times that); each recipient reached is kept, so a retry reaches only the others."""
        async with self._pool.acquire() as conn, conn.transaction():
            over = await conn.fetchval(
                "SELECT max(created_at) <= now() - make_interval(secs => $2)"
                " OR min(created_at) <= now() - make_interval(secs => $2 * 10) FROM alert_outbox"
                " WHERE channel = $1 AND delivered_at IS NULL AND dead_lettered_at IS NULL"
                " AND next_attempt_at <= now()",
                channel, float(sender.gather_seconds),
            )  # fmt: skip
            if not over:
                return 0
            rows = await conn.fetch(
                "SELECT position, payload, attempts FROM alert_outbox WHERE channel = $1 AND delivered_at IS NULL"
                " AND dead_lettered_at IS NULL AND next_attempt_at <= now() ORDER BY position LIMIT $2"
                " FOR UPDATE SKIP LOCKED",
                channel, limit,
            )  # fmt: skip
            if not rows:
                return 0
            positions = [r["position"] for r in rows]
            sent = await conn.fetch("SELECT position, address FROM alert_email_recipients WHERE position = ANY($1)",
                                    positions)  # fmt: skip
            reached = {(r["position"], r["address"]) for r in sent}
            now_reached, failed = await sender.send_gathered(
                conn, [Gathered(r["position"], r["payload"]) for r in rows], reached
            )
            await conn.executemany(
                "INSERT INTO alert_email_recipients (position, address) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                now_reached,
            )
            for row in rows:
                if (error := failed.get(row["position"])) is not None:
                    await self._failed(conn, row["position"], channel, row["attempts"] + 1, error)
                    continue
                ALERT_DELIVERIES.labels(channel, "delivered").inc()
            delivered = [(p, channel) for p in positions if p not in failed]
            await _mark_delivered(conn, delivered)
            return len(delivered)

    @staticmethod
    async def _failed(conn: asyncpg.Connection, position: int, channel: str, attempts: int, error: Exception) -> None:
        """Schedule the next attempt, or after the last one dead-letter the delivery: explicitly, logged
        as an error and counted, listed and retried by `pim alerts deliveries`."""
        reason = f"{type(error).__name__}: {error}"[:1000]
        if attempts >= MAX_ATTEMPTS:
            log.error("alert %s via %s failed %d times (%s): dead-lettered; `pim alerts deliveries --retry %s`"
                      " sends it again", position, channel, attempts, reason, f"{position}/{channel}")  # fmt: skip
            await conn.execute(
                "UPDATE alert_outbox SET attempts = $3, last_error = $4, dead_lettered_at = now()"
                " WHERE position = $1 AND channel = $2",
                position, channel, attempts, reason,
            )  # fmt: skip
            ALERT_DELIVERIES.labels(channel, "dead_lettered").inc()
            return
        backoff = min(2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
        log.warning("alert %s via %s failed (%s); attempt %d of %d in %ds",
                    position, channel, reason, attempts + 1, MAX_ATTEMPTS, backoff)  # fmt: skip
        await conn.execute(
            "UPDATE alert_outbox SET attempts = $3, last_error = $4,"
            " next_attempt_at = now() + make_interval(secs => $5) WHERE position = $1 AND channel = $2",
            position, channel, attempts, reason, backoff,
        )  # fmt: skip
        ALERT_DELIVERIES.labels(channel, "failed").inc()

    async def run(self, poll_seconds: float = 5.0) -> None:
        """Deliver as rows arrive (woken by NOTIFY), and retry failed ones as they fall due."""
        async with notify_listener(self._pool, OUTBOX_CHANNEL, self._wake) as listening:
            while True:
                if listening.lost:  # PostgreSQL restarted: no NOTIFY comes on it any more
                    raise ConnectionResetError("the outbox's NOTIFY connection to PostgreSQL was lost")
                self._wake.clear()
                if await self.deliver_due() == 0:
                    # The gauges when a round is done, not once per batch while deliveries stream.
                    await update_outbox_gauges(self._pool)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)


async def _mark_delivered(conn: asyncpg.Connection, deliveries: Sequence[tuple[int, str]]) -> None:
    """The (position, channel) deliveries made: one statement for a round."""
    await conn.execute(
        "UPDATE alert_outbox o SET attempts = attempts + 1, delivered_at = now(), last_error = NULL"
        " FROM unnest($1::bigint[], $2::text[]) AS d(position, channel)"
        " WHERE (o.position, o.channel) = (d.position, d.channel)",
        [p for p, _ in deliveries], [c for _, c in deliveries],
    )  # fmt: skip


async def update_outbox_gauges(pool: asyncpg.Pool) -> None:
    """The outbox as /metrics shows it: per channel, what waits, how long the oldest has waited, and what
    was dead-lettered."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT channel, count(*) FILTER (WHERE delivered_at IS NULL AND dead_lettered_at IS NULL) AS waiting,"
            " coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE delivered_at IS NULL"
            "   AND dead_lettered_at IS NULL)), 0) AS oldest_s,"
            " count(*) FILTER (WHERE dead_lettered_at IS NOT NULL) AS dead"
            " FROM alert_outbox GROUP BY channel"
        )
    for r in rows:
        OUTBOX_WAITING.labels(r["channel"]).set(r["waiting"])
        OUTBOX_OLDEST_WAITING_SECONDS.labels(r["channel"]).set(float(r["oldest_s"]))
        OUTBOX_DEAD_LETTERED.labels(r["channel"]).set(r["dead"])


async def undelivered(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every delivery not made: waiting for its next attempt, or dead-lettered after its last."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT o.position, o.channel, o.attempts, o.next_attempt_at, o.dead_lettered_at, o.last_error,"
        " o.payload->>'kind' AS kind, o.payload->'alert'->>'fingerprint' AS fingerprint"
        " FROM alert_outbox o WHERE o.delivered_at IS NULL ORDER BY o.position, o.channel"
    )
    return rows


async def retry(conn: asyncpg.Connection, deliveries: list[tuple[int, str]] | None) -> int:
    """Send the given (position, channel) deliveries again from a first attempt, or every dead-lettered
    one when `deliveries` is None; return how many were queued."""
    if deliveries is None:
        status = await conn.execute(
            "UPDATE alert_outbox SET dead_lettered_at = NULL, attempts = 0, next_attempt_at = now()"
            " WHERE delivered_at IS NULL AND dead_lettered_at IS NOT NULL"
        )
    else:
        status = await conn.execute(
            "UPDATE alert_outbox o SET dead_lettered_at = NULL, attempts = 0, next_attempt_at = now()"
            " FROM unnest($1::bigint[], $2::text[]) AS d(position, channel)"
            " WHERE (o.position, o.channel) = (d.position, d.channel) AND o.delivered_at IS NULL",
            [p for p, _ in deliveries],
            [c for _, c in deliveries],
        )
    await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")
    return int(status.split()[-1])
