"""The evaluation's port on PostgreSQL: one connection inside the evaluation's transaction, holding its unit
and year's lock. Recording an event appends it to the store, applies it to the `alerts` rows and queues its
notifications in the outbox, all in that transaction."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

import asyncpg

from services.alerts import outbox
from services.alerts.alert_rows import apply_alert_event
from services.alerts.commitments import COMMITMENT_MISSED, DueCommitment, Report
from services.alerts.config import Routing
from services.alerts.deadlines import AlertClock
from services.alerts.decisions import CommitteeResolution, CurrentAlert
from services.alerts.evaluation import Done, OpenClock
from services.alerts.unit_year_facts import UnitYearFacts
from shared.clock import VIETNAM
from shared.event_store import EventStore, Submitter
from shared.events import SYSTEM_RESOLVER, DeadlineReminded, DomainEvent, Indicator

SUBMITTER = Submitter(submitted_by="system:alerts", channel="alerts-service")


class SqlEvaluation:
    def __init__(
        self, conn: asyncpg.Connection, store: EventStore, unit_code: str, plan_year: int, routing: Routing,
        channels: Sequence[str], dashboard_url: str, portal_url: str | None,
    ) -> None:  # fmt: skip
        self._conn, self._store = conn, store
        self._unit, self._year = unit_code, plan_year
        self._routing, self._channels = routing, list(channels)
        self._dashboard_url, self._portal_url = dashboard_url, portal_url

    async def alerts_now(self) -> tuple[dict[str, CurrentAlert], dict[str, CommitteeResolution]]:
        rows = await self._conn.fetch(
            "SELECT fingerprint, rule, severity, escalated_to, summary, evidence, responsible_leader_id, status,"
            " resolution FROM alerts WHERE unit_code = $1 AND plan_year = $2"
            " AND ((status = 'open' AND rule <> $3) OR (status = 'resolved' AND resolved_by IS DISTINCT FROM $4))",
            self._unit, self._year, COMMITMENT_MISSED, SYSTEM_RESOLVER,
        )  # fmt: skip
        current = {
            r["fingerprint"]: CurrentAlert(
                r["fingerprint"],
                r["rule"],
                r["severity"],
                r["escalated_to"],
                r["summary"],
                r["evidence"],
                r["responsible_leader_id"],
            )
            for r in rows
            if r["status"] == "open"
        }
        resolved = {
            r["fingerprint"]: CommitteeResolution(r["severity"], r["resolution"] or "")
            for r in rows
            if r["status"] == "resolved"
        }
        return current, resolved

    async def due_commitments(self, today: dt.date) -> list[DueCommitment]:
        rows = await self._conn.fetch(
            "SELECT c.*, r.leader_name, coalesce(a.escalated_to, a.committee) AS committee FROM alert_commitments c"
            " JOIN alert_reviews r USING (fingerprint) JOIN alerts a USING (fingerprint)"
            " WHERE c.unit_code = $1 AND c.plan_year = $2 AND c.outcome IS NULL AND c.due <= $3"
            " ORDER BY c.position, c.ordinal",
            self._unit, self._year, today,
        )  # fmt: skip
        return [
            DueCommitment(
                r["position"],
                r["ordinal"],
                r["fingerprint"],
                self._unit,
                r["leader_id"],
                r["leader_name"],
                Indicator(r["indicator"]),
                self._year,
                r["due"],
                r["rate"],
                r["amount"],
                r["committee"],
            )
            for r in rows
        ]

    async def reports(self, indicator: Indicator) -> list[Report]:
        rows = await self._conn.fetch(
            "SELECT as_of, rate, actual_ytd FROM unit_progress_history WHERE unit_code = $1"
            " AND indicator = $2 AND plan_year = $3 AND category = '' ORDER BY as_of",
            self._unit, indicator.value, self._year,
        )  # fmt: skip
        return [Report(r["as_of"], r["rate"], r["actual_ytd"]) for r in rows]

    async def open_clocks(self) -> list[OpenClock]:
        rows = await self._conn.fetch(
            "SELECT a.fingerprint, coalesce(a.escalated_to, a.committee) AS routed_to, a.raised_at,"
            " a.acknowledged_at IS NOT NULL AS acknowledged, a.silenced_until, r.due,"
            " r.explained_at IS NOT NULL AS explained, r.leader_id AS asked"
            " FROM alerts a LEFT JOIN alert_reviews r USING (fingerprint)"
            " WHERE a.unit_code = $1 AND a.plan_year = $2 AND a.status = 'open' ORDER BY a.fingerprint",
            self._unit, self._year,
        )  # fmt: skip
        return [
            OpenClock(
                AlertClock(
                    r["fingerprint"],
                    r["raised_at"].astimezone(VIETNAM).date(),
                    r["acknowledged"],
                    r["silenced_until"],
                    r["due"],
                    r["explained"],
                ),
                r["routed_to"],
                r["asked"],
            )
            for r in rows
        ]

    async def escalations_done(self, fingerprints: Iterable[str]) -> Done:
        done: dict[str, set[tuple[str, dt.date]]] = defaultdict(set)
        asked = list(fingerprints)
        if not asked:  # most units of a sweep have no open alert: no round trip for them
            return done
        for r in await self._conn.fetch(
            "SELECT fingerprint, deadline, due FROM alert_deadline_escalations WHERE fingerprint = ANY($1::text[])",
            asked,
        ):
            done[r["fingerprint"]].add((r["deadline"], r["due"]))
        return done

    async def reminders_done(self, today: dt.date) -> Done:
        done: dict[str, set[tuple[str, dt.date]]] = defaultdict(set)
        for r in await self._conn.fetch(
            "SELECT deadline, subject, due FROM alert_reminders WHERE unit_code = $1 AND due >= $2", self._unit, today
        ):
            done[r["subject"]].add((r["deadline"], r["due"]))
        return done

    async def record(self, events: Sequence[tuple[DomainEvent, str]], unit_name: str | None, today: dt.date) -> None:
        """Appended together, applied one by one (each returns its alert's row), queued together."""
        positions = await self._append([event for event, _ in events])
        queued: list[outbox.Queued] = []
        for (event, key), position in zip(events, positions, strict=True):
            row = await apply_alert_event(self._conn, event, position, unit_name)
            if row is None or row["fingerprint"] != key:
                row = await self._conn.fetchrow("SELECT * FROM alerts WHERE fingerprint = $1", key)
            assert row is not None
            queued += notification_rows(event, position, row, today, self._channels, self._dashboard_url,
                                        self._portal_url)  # fmt: skip
        await outbox.enqueue_rows(self._conn, queued)

    async def record_reminders(
        self, reminders: Sequence[tuple[DeadlineReminded, OpenClock | None]], facts: UnitYearFacts
    ) -> None:
        positions = await self._append([event for event, _ in reminders])
        queued: list[outbox.Queued] = []
        for (event, alert), position in zip(reminders, positions, strict=True):
            await apply_alert_event(self._conn, event, position, facts.unit.name)
            if "email" not in self._channels or not await self._reachable(event, alert):
                continue
            row = None
            if alert is not None:
                row = dict(await self._conn.fetchrow("SELECT * FROM alerts WHERE fingerprint = $1", alert.fingerprint))
            message = outbox.reminder(event, position, row, facts.unit.name, facts.unit.committee,
                                      self._dashboard_url, self._portal_url)  # fmt: skip
            queued += outbox.outbox_rows(event, position, message, ["email"], silenced=False)
        await outbox.enqueue_rows(self._conn, queued)

    async def record_evaluation(self, version: int, today: dt.date, peers: str) -> None:
        await self._conn.execute(
            "INSERT INTO alert_evaluations (unit_code, plan_year, version, evaluated_on, peer_state)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (unit_code, plan_year)"
            " DO UPDATE SET version = $3, evaluated_on = $4, peer_state = $5",
            self._unit, self._year, version, today, peers,
        )  # fmt: skip

    async def _reachable(self, event: DeadlineReminded, alert: OpenClock | None) -> bool:
        """Whether anyone would receive the reminder: a unit with no finance clerk's account, or a head with
        none, is reminded in the log only (no e-mail waits, or fails, for nobody)."""
        if event.deadline == "acknowledgement":
            return alert is not None and bool(self._routing.emails_of(alert.routed_to))
        if event.deadline == "explanation":
            query = "SELECT 1 FROM accounts WHERE disabled_at IS NULL AND role = 'head' AND leader_id = $1"
            return event.leader_id is not None and bool(await self._conn.fetchval(query, event.leader_id))
        query = "SELECT 1 FROM accounts WHERE disabled_at IS NULL AND role = 'clerk' AND $1 = ANY(units)"
        return bool(await self._conn.fetchval(query, event.unit_code))

    async def _append(self, events: Sequence[DomainEvent]) -> list[int]:
        return await append_events(self._conn, self._store, events)


async def append_events(conn: asyncpg.Connection, store: EventStore, events: Sequence[DomainEvent]) -> list[int]:
    """Append the alerts service's events in the caller's transaction; their positions."""
    if not events:
        return []
    return (await store.append(list(events), SUBMITTER, conn=conn)).positions


def notification_rows(
    event: DomainEvent, position: int, alert: asyncpg.Record, today: dt.date, channels: Sequence[str],
    dashboard_url: str, portal_url: str | None,
) -> list[outbox.Queued]:  # fmt: skip
    """The outbox rows of an event about `alert`, as its row is now (silenced: fewer channels)."""
    silenced = alert["silenced_until"] is not None and alert["silenced_until"] >= today
    notification = outbox.notification(event, position, dict(alert), dashboard_url, portal_url)
    return outbox.outbox_rows(event, position, notification, list(channels), silenced=silenced)
