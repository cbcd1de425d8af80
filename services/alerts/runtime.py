"""The alerts service's background work: the outbox dispatcher, and a scheduler that ticks the deadline
rules (and catches up on missed notifications) and keeps Alertmanager told about the open alerts."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

import aiosmtplib
import asyncpg
from aiokafka import AIOKafkaProducer

from services.alerts.delivery import AlertmanagerSender, KafkaSender, alertmanager_alert, senders
from services.alerts.digest_mail import send_due_digests
from services.alerts.mail import EmailSender
from services.alerts.outbox import Dispatcher, alert_view
from services.alerts.service import AlertsService
from services.alerts.topic_marks import AlertsTopicMarks
from shared.bus import make_producer
from shared.resilience import DEPENDENCY_ERRORS
from shared.settings import AlertsSettings

log = logging.getLogger(__name__)

SWEEP_SECONDS = 60.0  # at the latest; sooner after progress changed

DEBOUNCE_SECONDS = 1.0


async def open_alert_views(
    pool: asyncpg.Pool, today: dt.date, dashboard_url: str, portal_url: str | None = None
) -> list[dict[str, Any]]:
    """Each open alert not silenced on `today`, as Alertmanager needs them re-sent."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT * FROM alerts WHERE status = 'open' AND (silenced_until IS NULL OR silenced_until < $1)", today
        )
    return [alert_view(dict(row), dashboard_url.rstrip("/"), portal_url) for row in rows]


class AlertsRuntime:
    def __init__(self, settings: AlertsSettings, pool: asyncpg.Pool, service: AlertsService) -> None:
        self._settings = settings
        self._pool = pool
        self.service = service

    async def run(self, sweep_seconds: float = SWEEP_SECONDS) -> None:
        marks = AlertsTopicMarks(self._pool, self._settings.alerts_topic)
        kafka = KafkaSender(await self._new_producer(), self._settings.alerts_topic, marks=marks,
                            renew=self._new_producer)  # fmt: skip
        try:
            channel_senders = senders(self._settings, self.service.config, kafka)
            dispatcher = Dispatcher(self._pool, channel_senders)
            alertmanager = channel_senders.get("alertmanager")
            mailer = channel_senders.get("email")
            await asyncio.gather(
                dispatcher.run(),
                marks.watch(self._settings),
                self._tick(
                    sweep_seconds,
                    alertmanager if isinstance(alertmanager, AlertmanagerSender) else None,
                    mailer if isinstance(mailer, EmailSender) else None,
                ),
            )
        finally:
            await kafka.producer.stop()

    async def _new_producer(self) -> AIOKafkaProducer:
        producer = make_producer(self._settings)
        try:
            await producer.start()
        except BaseException:
            await producer.stop()  # a producer that failed to start still holds its connections
            raise
        return producer

    async def _tick(
        self, seconds: float, alertmanager: AlertmanagerSender | None, mailer: EmailSender | None = None
    ) -> None:
        """Sweep, send the month's digests when a month has begun, then re-push the open alerts to
        Alertmanager, until cancelled. No step's dependency being down (PostgreSQL, the mail server,
        Alertmanager) stops the loop, nor keeps the other steps from running."""
        while True:
            try:
                await self.service.sweep()
            except (*DEPENDENCY_ERRORS, asyncpg.PostgresError) as error:
                log.warning("alerts: scheduled sweep failed (%s); next try in %.0f s", error, seconds)
            if mailer is not None:
                try:
                    await send_due_digests(self._pool, self.service.config, mailer, self.service.clock(),
                                           self._settings.pim_portal_public_url)  # fmt: skip
                except (*DEPENDENCY_ERRORS, asyncpg.PostgresError, aiosmtplib.SMTPException) as error:
                    log.warning("alerts: monthly digests not sent (%s); next try in %.0f s", error, seconds)
            if alertmanager is not None:
                try:
                    await self._refresh_alertmanager(alertmanager)
                except DEPENDENCY_ERRORS as error:
                    log.warning("alerts: Alertmanager refresh failed (%s); next try in %.0f s", error, seconds)
            # Progress changed: a unit's peers may have moved too (their facts did not), so sweep again soon.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.service.progress_seen.wait(), timeout=seconds)
                await asyncio.sleep(DEBOUNCE_SECONDS)  # let a burst of notifications land: one sweep for all
            self.service.progress_seen.clear()

    async def _refresh_alertmanager(self, alertmanager: AlertmanagerSender) -> None:
        messages = await open_alert_views(self._pool, self.service.clock(), self._settings.pim_dashboard_url,
                                          self._settings.pim_portal_public_url)  # fmt: skip
        now = dt.datetime.now(dt.UTC)
        await alertmanager.push([alertmanager_alert(m, now) for m in messages])
