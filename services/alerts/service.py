"""The alerts service: evaluates rules when the projector reports changed progress, records
AlertRaised / AlertResolved in the event store, and publishes them to the alerts topic."""

from __future__ import annotations

import logging
from decimal import Decimal

import asyncpg
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from pydantic import BaseModel

from services.alerts.rules import ProgressSnapshot, below_pace, fingerprint
from shared.bus import make_broker
from shared.event_store import EventStore, Submitter
from shared.events import AlertRaised, AlertResolved, DomainEvent, Indicator, Role
from shared.responsibility import Tenure, responsible_on
from shared.settings import Settings

log = logging.getLogger(__name__)

SUBMITTER = Submitter(submitted_by="system:alerts", channel="alerts-service")


class ProgressChangedMessage(BaseModel):
    unit_code: str
    indicator: str
    plan_year: int
    as_of: str
    status: str
    version: int


class AlertsService:
    def __init__(self, settings: Settings, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._store = EventStore(pool)
        self._tolerance = Decimal(settings.pim_disbursement_tolerance_pp) / 100

    async def evaluate(self, unit_code: str, indicator: str, plan_year: int) -> list[DomainEvent]:
        """Evaluate one unit's progress; raise or resolve its alert; return the events recorded."""
        async with self._pool.acquire() as conn, conn.transaction():
            # One evaluator per unit/indicator/year at a time, so two instances never both raise.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                f"{unit_code}/{indicator}/{plan_year}",
            )
            row = await conn.fetchrow(
                "SELECT p.*, e.version AS evaluated FROM unit_progress p"
                " LEFT JOIN alert_evaluations e USING (unit_code, indicator, plan_year)"
                " WHERE (p.unit_code, p.indicator, p.plan_year) = ($1, $2, $3)",
                unit_code,
                indicator,
                plan_year,
            )
            if row is None or (row["evaluated"] is not None and row["evaluated"] >= row["version"]):
                return []
            events = await self._decide(conn, row)
            await conn.execute(
                "INSERT INTO alert_evaluations (unit_code, indicator, plan_year, version)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (unit_code, indicator, plan_year) DO UPDATE SET version = $4",
                unit_code,
                indicator,
                plan_year,
                row["version"],
            )
            return events

    async def _decide(self, conn: asyncpg.Connection, row: asyncpg.Record) -> list[DomainEvent]:
        snapshot = ProgressSnapshot(
            row["unit_code"],
            row["indicator"],
            row["plan_year"],
            row["as_of"],
            row["target"],
            row["actual_ytd"],
            row["rate"],
            row["expected_pace"],
            row["status"],
        )
        finding = below_pace(snapshot, self._tolerance)
        key = fingerprint(snapshot.unit_code, snapshot.indicator, "below_pace", snapshot.plan_year)
        open_position: int | None = await conn.fetchval(
            "SELECT raised_position FROM alerts WHERE fingerprint = $1 AND status = 'open'", key
        )
        if finding is not None:
            committee = await conn.fetchval("SELECT committee FROM units WHERE unit_code = $1", snapshot.unit_code)
            responsible = responsible_on(await _tenures(conn, snapshot.unit_code), snapshot.indicator, snapshot.as_of)
            head = responsible.head
            evidence = dict(finding.evidence)
            if responsible.deputy is not None:
                evidence["deputy_in_charge"] = responsible.deputy.leader_name
            raised = AlertRaised(
                fingerprint=key,
                unit_code=snapshot.unit_code,
                indicator=Indicator(snapshot.indicator),
                plan_year=snapshot.plan_year,
                rule=finding.rule,
                severity=finding.severity,
                as_of=snapshot.as_of,
                responsible_leader_id=head.leader_id if head else None,
                responsible_leader_name=head.leader_name if head else None,
                committee=committee or "unassigned",
                evidence=evidence,
            )
            # Still below with an alert open: it carries the latest evidence; no second alert is raised.
            events: list[DomainEvent] = []
            if open_position is None:
                open_position = (await self._store.append([raised], SUBMITTER, conn=conn)).first_position
                events = [raised]
            await conn.execute(
                "INSERT INTO alerts (fingerprint, unit_code, indicator, plan_year, rule, severity, status, as_of,"
                " responsible_leader_id, responsible_leader_name, committee, evidence, raised_position)"
                " VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $10, $11, $12)"
                " ON CONFLICT (fingerprint) DO UPDATE SET severity = $6, status = 'open', as_of = $7,"
                " responsible_leader_id = $8, responsible_leader_name = $9, committee = $10, evidence = $11,"
                " raised_position = $12",
                key,
                raised.unit_code,
                raised.indicator.value,
                raised.plan_year,
                raised.rule,
                raised.severity,
                raised.as_of,
                raised.responsible_leader_id,
                raised.responsible_leader_name,
                raised.committee,
                raised.evidence,
                open_position,
            )
            return events
        if finding is None and open_position is not None:
            resolved = AlertResolved(
                fingerprint=key, unit_code=snapshot.unit_code, as_of=snapshot.as_of, reason="back on track"
            )
            await self._store.append([resolved], SUBMITTER, conn=conn)
            await conn.execute("UPDATE alerts SET status = 'resolved' WHERE fingerprint = $1", key)
            return [resolved]
        return []

    async def sweep(self) -> list[DomainEvent]:
        """Evaluate every progress row not yet evaluated (catches notifications lost in a crash)."""
        async with self._pool.acquire() as conn:
            pending = await conn.fetch(
                "SELECT p.unit_code, p.indicator, p.plan_year FROM unit_progress p"
                " LEFT JOIN alert_evaluations e USING (unit_code, indicator, plan_year)"
                " WHERE e.version IS NULL OR e.version < p.version"
            )
        events: list[DomainEvent] = []
        for row in pending:
            events += await self.evaluate(row["unit_code"], row["indicator"], row["plan_year"])
        return events


async def _tenures(conn: asyncpg.Connection, unit_code: str) -> list[Tenure]:
    rows = await conn.fetch(
        "SELECT leader_id, leader_name, role, indicator, start_date, end_date FROM tenures"
        " WHERE unit_code = $1 AND start_date IS NOT NULL",
        unit_code,
    )
    return [
        Tenure(r["leader_id"], r["leader_name"], Role(r["role"]), r["indicator"], r["start_date"], r["end_date"])
        for r in rows
    ]


def build_broker(settings: Settings, service: AlertsService) -> KafkaBroker:
    """The FastStream app of the alerts service: progress notifications in, alert events out."""
    broker = make_broker(settings, "alerts")
    publisher = broker.publisher(settings.alerts_topic)

    @broker.subscriber(
        settings.progress_topic,
        group_id=settings.consumer_group("alerts"),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK,  # commit only after the evaluation committed
    )
    async def on_progress_changed(message: ProgressChangedMessage) -> None:
        for event in await service.evaluate(message.unit_code, message.indicator, message.plan_year):
            await publisher.publish(event.model_dump(mode="json"), key=event.stream_id().encode())

    return broker
