"""The delivery channels of alert notifications. Each sender raises on failure so the outbox retries, and
carries the notification's idempotency key in the form its receiver can use."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    KafkaError,
    OutOfOrderSequenceNumber,
    ProducerClosed,
    ProducerFenced,
    UnknownProducerId,
)
from aiokafka.structs import RecordMetadata
from grafana_client.api import AsyncGrafanaApi
from standardwebhooks.webhooks import Webhook

from services.alerts.config import AlertConfig
from services.alerts.mail import EmailSender
from services.alerts.outbox import GatheringSender, Sender
from services.alerts.topic_marks import Acknowledged, AlertsTopicMarks
from shared.display import ALERT_EVENT_LABELS, RULE_LABELS
from shared.settings import AlertsSettings

log = logging.getLogger(__name__)


def canonical_body(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def webhook_signer(secret: str) -> Webhook:
    """The Standard Webhooks signer for PIM_ALERT_WEBHOOK_SECRET: a `whsec_<base64>` secret as the scheme
    writes it, or any other text, whose UTF-8 bytes are then the key."""
    return Webhook(secret if secret.startswith("whsec_") else secret.encode())


def title(message: dict[str, Any]) -> str:
    """A one-line title (the Grafana annotation's): the step unless it is the alert's first, unit, rule."""
    alert = message["alert"]
    step = "" if message["kind"] == "AlertRaised" else f"[{ALERT_EVENT_LABELS.get(message['kind'], message['kind'])}] "
    unit = alert.get("unit_name") or alert["unit_code"]
    return f"{step}{unit}: {RULE_LABELS.get(alert['rule'], alert['rule'])}"


# The idempotent producer's refusals no retry by the same producer mends: once the broker lost its data it
# refuses that producer's sequence numbers for ever (704 failures in a row, seen in the fault probe). A
# new producer starts afresh.
# A producer stopped (its renewal failed while the broker was away) is renewed at the next round.
PRODUCER_SPENT = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch, ProducerFenced, ProducerClosed)


class KafkaSender:
    """Every alert event on the alerts topic, keyed by unit; the idempotency key travels as a header. With
    `marks`, the last message acknowledged per partition is remembered (see topic_marks.py); with `renew`,
    a producer the broker refuses for good is replaced."""

    def __init__(
        self, producer: AIOKafkaProducer, topic: str, *, marks: AlertsTopicMarks | None = None,
        renew: Callable[[], Awaitable[AIOKafkaProducer]] | None = None,
    ) -> None:  # fmt: skip
        self.producer = producer
        self._topic = topic
        self._marks = marks
        self._renew = renew

    async def send(self, message: dict[str, Any]) -> None:
        (outcome,) = await self.send_many([message])
        if outcome is not None:
            raise outcome

    async def send_many(self, messages: list[dict[str, Any]]) -> list[Exception | None]:
        """All in flight at once, in order (one unit's keep their order in its partition); each one's outcome."""
        sent: list[asyncio.Future[Any] | Exception] = []
        for message in messages:
            try:
                sent.append(await self.producer.send(
                    self._topic, canonical_body(message), key=message["alert"]["unit_code"].encode(),
                    headers=[("idempotency-key", message["idempotency_key"].encode())],
                ))  # fmt: skip
            except Exception as error:  # not even queued: this one (and the rest) wait for the next round
                sent += [error] * (len(messages) - len(sent))
                break
        acknowledged = await asyncio.gather(*(s for s in sent if not isinstance(s, Exception)), return_exceptions=True)
        outcomes = iter(acknowledged)
        results = [s if isinstance(s, Exception) else next(outcomes) for s in sent]
        if self._marks is not None:
            furthest: Acknowledged = {}
            for message, result in zip(messages, results, strict=True):
                if isinstance(result, RecordMetadata):
                    furthest[result.partition] = max(
                        furthest.get(result.partition, (-1, "")), (result.offset, message["idempotency_key"])
                    )
            if furthest:
                await self._marks.remember(furthest)
        if self._renew is not None and any(isinstance(r, PRODUCER_SPENT) for r in results):
            log.warning("alerts: the broker refuses the producer for good (%s); starting a new one",
                        next(type(r).__name__ for r in results if isinstance(r, PRODUCER_SPENT)))  # fmt: skip
            with contextlib.suppress(Exception):
                await self.producer.stop()
            try:
                self.producer = await self._renew()
            except KafkaError as error:  # the broker away: the stopped producer refuses, and is renewed next round
                log.warning("alerts: no new producer yet (%r)", error)
        return [_error(r) for r in results]


def _error(outcome: object) -> Exception | None:
    return outcome if isinstance(outcome, Exception) else None


class WebhookSender:
    """POST of the notification, signed as Standard Webhooks sign (HMAC-SHA256 over id, timestamp and
    body, so a captured call cannot be replayed later or with another body); 2xx is delivered. The id is
    the idempotency key: the same on every re-delivery, as the scheme asks."""

    def __init__(self, url: str, secret: str, client: httpx.AsyncClient | None = None) -> None:
        self._url = url
        self._signer = webhook_signer(secret)
        self._client = client or httpx.AsyncClient(timeout=10)

    async def send(self, message: dict[str, Any]) -> None:
        body = canonical_body(message)
        key, now = message["idempotency_key"], dt.datetime.now(dt.UTC)
        response = await self._client.post(
            self._url,
            content=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "webhook-id": key,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": self._signer.sign(key, now, body.decode()),
                "Idempotency-Key": key,
            },
        )
        response.raise_for_status()


class GrafanaAnnotationSender:
    """An organization-wide annotation, tagged so dashboards can show it; looked up by its idempotency
    tag first, so a re-delivery does not add a second one."""

    def __init__(self, url: str, token: str | None) -> None:
        self._api = AsyncGrafanaApi.from_url(url, credential=token)

    async def send(self, message: dict[str, Any]) -> None:
        alert = message["alert"]
        key = message["idempotency_key"]
        if await self._api.annotations.find_annotations(tags=[key], limit=1):
            return
        moment = dt.datetime.fromisoformat(alert["updated_at"])
        tags = ["pim", key, f"unit:{alert['unit_code']}", f"rule:{alert['rule']}", f"severity:{alert['severity']}"]
        await self._api.annotations.add_annotation(
            time_from=int(moment.timestamp() * 1000),
            tags=tags,
            text=f"{title(message)} — {alert.get('summary') or ''}",
        )


def alertmanager_alert(message: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """One alert in Alertmanager's v2 form; a resolution is the same labels with `endsAt` now."""
    alert = message["alert"]
    # Labels identify the alert (they are what Alertmanager groups, inhibits and deduplicates by); who
    # answers for it and the evidence change while it stays the same alert, so they are annotations.
    labels = {
        "alertname": f"pim_{alert['rule']}",
        "unit": alert["unit_code"],
        "committee": message["routed_to"],
        "indicator": alert.get("indicator") or "-",
        "rule": alert["rule"],
        "plan_year": str(alert["plan_year"]),
        "severity": alert["severity"],
        "fingerprint": alert["fingerprint"],
    }
    evidence = ", ".join(f"{k}={v}" for k, v in sorted((alert.get("evidence") or {}).items()))
    body: dict[str, Any] = {
        "labels": labels,
        "annotations": {
            "summary": alert.get("summary") or "",
            "responsible_head": alert.get("responsible_leader_name") or "khuyết / vacant",
            "evidence": evidence,
            "dashboard": message["dashboard_url"],
            **({"alert_page": message["alert_url"]} if message.get("alert_url") else {}),
        },
        "startsAt": alert["raised_at"],
        "generatorURL": message["dashboard_url"],
    }
    if alert["status"] == "resolved":
        body["endsAt"] = now.isoformat()
    return body


class AlertmanagerSender:
    """Pushes to `/api/v2/alerts`; Alertmanager groups, silences and inhibits. Alertmanager forgets a firing
    alert it is not told about again, so `refresh` re-pushes the open ones (Prometheus does the same)."""

    def __init__(self, url: str, client: httpx.AsyncClient | None = None) -> None:
        self._url = url.rstrip("/") + "/api/v2/alerts"
        self._client = client or httpx.AsyncClient(timeout=10)

    async def push(self, alerts: list[dict[str, Any]]) -> None:
        if alerts:
            response = await self._client.post(self._url, json=alerts)
            response.raise_for_status()

    async def send(self, message: dict[str, Any]) -> None:
        await self.push([alertmanager_alert(message, dt.datetime.now(dt.UTC))])


def check_channels(settings: AlertsSettings, config: AlertConfig) -> None:
    """Refuse, at start, a channel configured so that it would deliver nothing (ValueError naming it)."""
    if settings.pim_alert_webhook_url and not settings.pim_alert_webhook_secret:
        raise ValueError("PIM_ALERT_WEBHOOK_URL is set but PIM_ALERT_WEBHOOK_SECRET is not: webhooks are signed")
    if settings.pim_smtp_host and not (
        config.routing.default_email or any(c.email for c in config.routing.committees.values())
    ):
        raise ValueError(
            "PIM_SMTP_HOST is set but the rules file names no e-mail recipient (routing.default_email or"
            " routing.committees.<name>.email): no alert e-mail would reach anyone"
        )


def senders(settings: AlertsSettings, config: AlertConfig, kafka: KafkaSender) -> dict[str, Sender | GatheringSender]:
    """A sender for every channel the settings configure."""
    check_channels(settings, config)
    out: dict[str, Sender | GatheringSender] = {"kafka": kafka}
    if settings.pim_alert_webhook_url:
        assert settings.pim_alert_webhook_secret is not None
        out["webhook"] = WebhookSender(settings.pim_alert_webhook_url, settings.pim_alert_webhook_secret)
    if settings.pim_smtp_host:
        out["email"] = EmailSender(settings.pim_smtp_host, settings.pim_smtp_port, settings.pim_smtp_from, config,
                                   portal_url=settings.pim_portal_public_url,
                                   link_secret=settings.pim_action_link_secret)  # fmt: skip
    if settings.pim_grafana_url:
        out["grafana"] = GrafanaAnnotationSender(settings.pim_grafana_url, settings.pim_grafana_token)
    if settings.pim_alertmanager_url:
        out["alertmanager"] = AlertmanagerSender(settings.pim_alertmanager_url)
    return out
