"""The alerts service: evaluates the rules for a unit and plan year when its progress changes (and on a
daily tick for the deadline rules), records each lifecycle step as an event in the event store, keeps the
`alerts` table current, and writes the notifications to the outbox in the same transaction."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import asyncpg
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, TopicPartition

from services.alerts import outbox
from services.alerts.alert_rows import apply_alert_event
from services.alerts.config import AlertConfig, load_alert_config
from services.alerts.delivery import check_channels
from services.alerts.evaluation import evaluate_unit_year
from services.alerts.evaluation_sql import SqlEvaluation, append_events, notification_rows
from services.alerts.unit_year_facts import load_facts, peer_state, stale_evaluations, units_and_years
from shared.bus import make_broker
from shared.clock import VIETNAM
from shared.contracts import ProgressChanged
from shared.event_store import EventStore
from shared.events import (
    AlertAcknowledged,
    AlertResolved,
    AlertSilenced,
    Commitment,
    ConclusionOutcome,
    DomainEvent,
    ExplanationRequested,
    ExplanationSubmitted,
)
from shared.observability import ALERT_EVALUATION_FAILURES, ALERT_EVALUATION_SECONDS, ALERT_EVENTS_RECORDED
from shared.pace import PaceRules, pace_rules
from shared.resilience import DEPENDENCY_ERRORS
from shared.settings import AlertsSettings
from shared.topics import PROGRESS_PARTITIONS

log = logging.getLogger(__name__)
EVALUATIONS_AT_ONCE = 4

# One evaluation of a unit and plan year at a time (shared/locks.py): the row lock of its evaluation row,
# made first (as a placeholder the evaluation overwrites) if it is the first evaluation. A concurrent
# first one waits on the new row's key until this commits.
_EVALUATION_LOCK = """
WITH made AS (
    INSERT INTO alert_evaluations (unit_code, plan_year, version, evaluated_on) VALUES ($1, $2, -1, $3)
    ON CONFLICT (unit_code, plan_year) DO NOTHING RETURNING 1
)
SELECT 1 FROM alert_evaluations WHERE unit_code = $1 AND plan_year = $2 FOR UPDATE"""
E = TypeVar("E", bound=DomainEvent)


class AlertNotFound(LookupError):
    pass


class ReviewRefused(ValueError):
    """A review step that cannot be taken as asked (a due date not ahead, a cause not in the taxonomy)."""


class AlertClosed(ValueError):
    pass


def clock_from(settings: AlertsSettings) -> Callable[[], dt.date]:
    """Today in Vietnam, or the fixed date of PIM_ALERTS_TODAY."""
    fixed = settings.pim_alerts_today
    if fixed is not None:
        return lambda: fixed
    return lambda: dt.datetime.now(VIETNAM).date()


class AlertsService:
    """Evaluations and committee actions. Handed everything it needs (no I/O when built): `from_settings`
    reads the rules and pace files."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        config: AlertConfig,
        pace: PaceRules,
        channels: Sequence[str],
        dashboard_url: str,
        clock: Callable[[], dt.date],
        portal_url: str | None = None,
    ) -> None:
        self._pool = pool
        self._store = EventStore(pool)
        self.config = config
        self.clock = clock
        self._pace_rules = pace
        self._channels = list(channels)
        self.dashboard_url = dashboard_url.rstrip("/")
        self.portal_url = portal_url  # the web pages' public address: each notification links the alert's page
        self.progress_seen = asyncio.Event()  # set on each progress notification; the scheduler sweeps then

    @classmethod
    def from_settings(
        cls,
        settings: AlertsSettings,
        pool: asyncpg.Pool,
        config: AlertConfig | None = None,
        clock: Callable[[], dt.date] | None = None,
    ) -> AlertsService:
        """The service as configured: rules file, pace file, channels, dashboard link, clock. A channel
        configured to deliver nothing is refused here, at start (ValueError)."""
        config = config if config is not None else load_alert_config(settings.pim_alert_rules_file)
        check_channels(settings, config)
        return cls(
            pool,
            config,
            pace_rules(settings),
            outbox.enabled_channels(settings),
            settings.pim_dashboard_url,
            clock or clock_from(settings),
            settings.pim_portal_public_url,
        )

    async def evaluate(self, unit_code: str, plan_year: int, today: dt.date | None = None) -> list[DomainEvent]:
        """Evaluate every rule for one unit and plan year; record what changed; return the events."""
        today = today or self.clock()
        started = time.perf_counter()
        async with self._pool.acquire() as conn, conn.transaction():
            # One evaluator per unit and year at a time, so two instances never both raise.
            await conn.execute(_EVALUATION_LOCK, unit_code, plan_year, today)
            peers = await peer_state(conn, unit_code, plan_year)  # read first: a later change is seen next time
            facts = await load_facts(conn, unit_code, plan_year, self._pace_rules)
            store = SqlEvaluation(conn, self._store, unit_code, plan_year, self.config.routing, self._channels,
                                  self.dashboard_url, self.portal_url)  # fmt: skip
            events = await evaluate_unit_year(store, facts, self.config, today)
            await store.record_evaluation(facts.version, today, peers)
        ALERT_EVALUATION_SECONDS.observe(time.perf_counter() - started)
        for event in events:  # counted and told once committed
            ALERT_EVENTS_RECORDED.labels(type(event).__name__).inc()
            log.info("alerts: %s %s, evaluated on %s on progress version %s", type(event).__name__,
                     getattr(event, "fingerprint", unit_code), today, facts.version,
                     extra={"fingerprint": getattr(event, "fingerprint", None)})  # fmt: skip
        return events

    async def evaluate_all(self, today: dt.date) -> list[DomainEvent]:
        """Evaluate every unit and plan year as of `today`, whether stale or not (a backfill)."""
        async with self._pool.acquire() as conn:
            pairs = await units_and_years(conn)
        return await self._evaluate_each(pairs, today)

    async def sweep(self, today: dt.date | None = None) -> list[DomainEvent]:
        """Evaluate every unit and year whose facts changed or whose last evaluation was on another date:
        the daily tick of the deadline rules, and a catch-up for notifications lost in a crash."""
        today = today or self.clock()
        async with self._pool.acquire() as conn:
            pending = await stale_evaluations(conn, today)
        return await self._evaluate_each(pending, today)

    async def _evaluate_each(self, pairs: Sequence[tuple[str, int]], today: dt.date) -> list[DomainEvent]:
        """Evaluate each unit and plan year; one whose facts make the evaluation fail is logged and counted,
        and the others are still evaluated (a dependency going away stops them all: it is raised)."""
        # A few at once: an evaluation is mostly waiting on PostgreSQL, and one unit's never waits on another's
        # (each holds only its own unit and year's lock). A sweep after a large import or a peer group's change
        # evaluates thousands: one at a time it took ~32 ms each, 1,000 units in 32 s.
        slots = asyncio.Semaphore(EVALUATIONS_AT_ONCE)

        async def one(unit_code: str, plan_year: int) -> list[DomainEvent]:
            async with slots:
                try:
                    return await self.evaluate(unit_code, plan_year, today)
                except DEPENDENCY_ERRORS:
                    raise
                except Exception:  # an isolation boundary: one unit's bad facts must not silence the others
                    ALERT_EVALUATION_FAILURES.inc()
                    log.exception("alerts: evaluating %s for %d failed; the other units go on", unit_code, plan_year)
                    return []

        done = await asyncio.gather(*(one(unit_code, plan_year) for unit_code, plan_year in pairs))
        return [event for events in done for event in events]

    # Committee actions: each is an event in the store, so every decision is auditable.

    async def acknowledge(self, fingerprint: str, by: str, note: str = "") -> AlertAcknowledged:
        event = AlertAcknowledged(fingerprint=fingerprint, unit_code="-", by=by, note=note)
        return await self._act(fingerprint, event)

    async def silence(self, fingerprint: str, until: dt.date, reason: str, by: str) -> AlertSilenced:
        event = AlertSilenced(fingerprint=fingerprint, unit_code="-", until=until, reason=reason, by=by)
        return await self._act(fingerprint, event)

    async def resolve(
        self, fingerprint: str, by: str, conclusion: str, outcome: ConclusionOutcome | None = None, document: str = ""
    ) -> AlertResolved:
        event = AlertResolved(
            fingerprint=fingerprint,
            unit_code="-",
            as_of=self.clock(),
            reason="resolved by the committee",
            resolved_by=by,
            conclusion=conclusion,
            outcome=outcome,
            document=document,
        )
        return await self._act(fingerprint, event)

    # The review loop: the committee asks the answerable head to explain; the head (or their unit's clerk on
    # their behalf) answers with causes and commitments.

    async def request_explanation(
        self, fingerprint: str, by: str, note: str = "", due: dt.date | None = None
    ) -> ExplanationRequested:
        """Ask the head the alert names as answerable, by `due` (default: the rules file's working days)."""
        today = self.clock()
        due = due or self.config.review.working_days().after(today, self.config.review.explanation_working_days)
        if due <= today:
            raise ReviewRefused(f"the explanation's due date {due} is not after today ({today})")

        def draft(alert: asyncpg.Record, review: asyncpg.Record | None) -> ExplanationRequested:
            if review is not None and review["explained_at"] is None:
                raise AlertClosed(f"an explanation of {fingerprint} is already requested, due {review['due']}")
            return ExplanationRequested(
                fingerprint=fingerprint, unit_code=alert["unit_code"], leader_id=alert["responsible_leader_id"],
                leader_name=alert["responsible_leader_name"], on=today, due=due, by=by, note=note,
            )  # fmt: skip

        return await self._act_on_review(fingerprint, draft)

    async def submit_explanation(
        self, fingerprint: str, by: str, leader_id: str | None, on_behalf: bool, causes: list[str], text: str,
        document: str = "", commitments: Sequence[Commitment] = (),
    ) -> ExplanationSubmitted:  # fmt: skip
        """The answer to a pending request: by the head asked (`leader_id` theirs), or on their behalf by
        their unit's clerk (`on_behalf`; the caller checked the unit is the clerk's)."""
        unknown = [cause for cause in causes if cause not in self.config.review.causes]
        if unknown:
            known = ", ".join(self.config.review.causes)
            raise ReviewRefused(f"unknown cause {unknown[0]!r}; the causes are: {known}")

        def draft(alert: asyncpg.Record, review: asyncpg.Record | None) -> ExplanationSubmitted:
            if review is None:
                raise AlertClosed(f"no explanation of {fingerprint} has been requested")
            if review["explained_at"] is not None:
                raise AlertClosed(f"{fingerprint} is already explained, by {review['explained_by']}")
            if not on_behalf and (leader_id is None or leader_id != review["leader_id"]):
                raise AlertNotFound(fingerprint)  # asked of someone else: as if there were none
            return ExplanationSubmitted(
                fingerprint=fingerprint, unit_code=alert["unit_code"], leader_id=review["leader_id"], on=self.clock(),
                by=by, on_behalf=on_behalf, causes=causes, text=text, document=document, commitments=list(commitments),
            )  # fmt: skip

        return await self._act_on_review(fingerprint, draft)

    async def _act_on_review(self, fingerprint: str, draft: Callable[[asyncpg.Record, asyncpg.Record | None], E]) -> E:
        async with self._pool.acquire() as conn, conn.transaction():
            # The unit's stream first, as an evaluation (and every writer to the store) takes it, then the alert's
            # row: the other way round, an evaluation holding the stream that updates the row deadlocks with this.
            unit = await conn.fetchval("SELECT unit_code FROM alerts WHERE fingerprint = $1", fingerprint)
            if unit is None:
                raise AlertNotFound(fingerprint)
            await EventStore.lock_streams(conn, [unit])
            row = await conn.fetchrow("SELECT * FROM alerts WHERE fingerprint = $1 FOR UPDATE", fingerprint)
            if row is None:
                raise AlertNotFound(fingerprint)
            if row["status"] != "open":
                raise AlertClosed(f"alert {fingerprint} is already {row['status']}")
            review = await conn.fetchrow("SELECT * FROM alert_reviews WHERE fingerprint = $1", fingerprint)
            event = draft(row, review)
            (position,) = await append_events(conn, self._store, [event])
            alert = await apply_alert_event(conn, event, position, None)  # the row the action changed
            assert alert is not None
            queued = notification_rows(event, position, alert, self.clock(), self._channels, self.dashboard_url,
                                       self.portal_url)  # fmt: skip
            await outbox.enqueue_rows(conn, queued)
        ALERT_EVENTS_RECORDED.labels(type(event).__name__).inc()
        return event

    async def _act(self, fingerprint: str, draft: E) -> E:
        """Record a committee's action on an open alert (the draft's unit is the alert's)."""
        return await self._act_on_review(
            fingerprint, lambda alert, _: draft.model_copy(update={"unit_code": alert["unit_code"]})
        )


def build_alerts_broker(settings: AlertsSettings, service: AlertsService) -> KafkaBroker:
    """The FastStream app of the alerts service: progress notifications in; the outbox delivers."""
    broker = make_broker(settings, "alerts")

    # No consumer group and no committed offsets: a progress message only says "evaluate this unit now",
    # and the sweep at start and on every tick catches up whatever was missed (what changed is read from
    # the projector's tables). So every instance reads the new messages of every partition, and a killed
    # instance's successor hears them at once, whatever the broker does with group membership.
    @broker.subscriber(
        partitions=[TopicPartition(settings.progress_topic, p) for p in range(PROGRESS_PARTITIONS)],
        auto_offset_reset="latest",
        ack_policy=AckPolicy.MANUAL,  # nothing to commit
    )
    async def on_progress_changed(message: ProgressChanged) -> None:
        await service.evaluate(message.unit_code, message.plan_year)
        service.progress_seen.set()

    return broker
