"""Every delivery channel against a real peer: an HTTP receiver (webhook), an SMTP server (aiosmtpd), a
local stub of Grafana's HTTP API (no Grafana server runs here) and the Kafka broker; plus the outbox's
promise: a crash between deciding and delivering loses nothing and sends nothing twice."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import email.policy
import email.utils
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from prometheus_client import generate_latest
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.responses import JSONResponse, Response

from services.alerts.config import AlertConfig, parse_alert_config
from services.alerts.delivery import GrafanaAnnotationSender, KafkaSender, WebhookSender, webhook_signer
from services.alerts.mail import EmailSender, NoRecipient
from services.alerts.outbox import MAX_ATTEMPTS, OUTBOX_CHANNEL, Dispatcher, Gathered, Sender, update_outbox_gauges
from shared.bus import bootstrap, make_producer, stop_consumer
from shared.settings import Settings
from shared.topics import ensure_topics
from tests.integration.alert_fixtures import DISB, ONLY_BELOW_PACE, PROVINCIAL, Clock, Facts, alerts_service
from tests.integration.receivers import Received, SmtpInbox, http_receiver, smtp_inbox
from tests.integration.test_relay import terminate_listeners
from tests.kafka_helpers import eventually
from tests.published_schema import published_problems

pytestmark = pytest.mark.postgres
SECRET = "bí-mật-của-ủy-ban"


async def raise_one_alert(
    settings: Settings, pool: asyncpg.Pool, config: AlertConfig = ONLY_BELOW_PACE, **channels: object
) -> None:
    """Lâm Đồng behind pace in March: one AlertRaised (and its outbox rows) for the channels given."""
    facts = Facts(pool)
    await facts.registry()
    await facts.report("lam-dong", 3, 60)
    service = alerts_service(settings, pool, Clock(dt.date(2025, 4, 3)), config, **channels)
    await service.evaluate("lam-dong", 2025)


async def deliver_until_done(dispatcher: Dispatcher, pool: asyncpg.Pool, channel: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        await dispatcher.deliver_due()
        async with pool.acquire() as conn:
            pending = await conn.fetchval(
                "SELECT count(*) FROM alert_outbox WHERE channel = $1 AND delivered_at IS NULL", channel
            )
        if pending == 0:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{pending} {channel} notification(s) still undelivered")
        await asyncio.sleep(0.1)


async def test_signed_webhook_retries_with_backoff_until_the_receiver_takes_it(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    def flaky(_: Received, seen: list[Received]) -> Response:
        return JSONResponse({"error": "busy"}, status_code=503 if len(seen) == 1 else 200)

    async with http_receiver(flaky) as receiver:
        url = f"{receiver.url}/pim-alerts"
        await raise_one_alert(settings, pool, pim_alert_webhook_url=url, pim_alert_webhook_secret=SECRET)
        dispatcher = Dispatcher(pool, {"webhook": WebhookSender(url, SECRET)})
        assert await dispatcher.deliver_due() == 0  # the receiver answered 503
        async with pool.acquire() as conn:
            failed = await conn.fetchrow("SELECT * FROM alert_outbox WHERE channel = 'webhook'")
        assert failed["attempts"] == 1 and "503" in failed["last_error"] and failed["delivered_at"] is None
        await deliver_until_done(dispatcher, pool, "webhook")  # due again a second later

    first, second = receiver.requests
    assert first.body == second.body and first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == second.headers["idempotency-key"]
    # a receiver checks it with the Standard Webhooks library: id, timestamp and body are signed
    verifier = webhook_signer(SECRET)
    assert verifier.verify(second.body, dict(second.headers))["kind"] == "AlertRaised"
    with pytest.raises(WebhookVerificationError):  # another body under the same signature
        verifier.verify(second.body.replace(b"lam-dong", b"hue"), dict(second.headers))
    stale = dict(second.headers) | {"webhook-timestamp": str(int(second.headers["webhook-timestamp"]) - 3600)}
    with pytest.raises(WebhookVerificationError):  # a captured call replayed an hour later
        verifier.verify(second.body, stale)
    body = json.loads(second.body)
    assert body["kind"] == "AlertRaised" and body["alert"]["unit_code"] == "lam-dong"
    assert body["alert"]["responsible_leader_name"] == "Nguyễn Ngọc Tú" and body["routed_to"] == PROVINCIAL


class Crash(BaseException):
    """The process dying after a delivery and before the outbox row is marked."""


class CrashAfterSending:
    def __init__(self, sender: Sender) -> None:
        self._sender = sender

    async def send(self, message: dict[str, Any]) -> None:
        await self._sender.send(message)
        raise Crash


async def test_a_crash_after_delivery_redelivers_with_the_same_key_and_the_receiver_keeps_one(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    kept: dict[str, bytes] = {}

    def idempotent(request: Received, _: list[Received]) -> Response:
        kept.setdefault(request.headers["idempotency-key"], request.body)
        return JSONResponse({"ok": True})

    async with http_receiver(idempotent) as receiver:
        url = f"{receiver.url}/hook"
        await raise_one_alert(settings, pool, pim_alert_webhook_url=url, pim_alert_webhook_secret=SECRET)
        sender = WebhookSender(url, SECRET)
        with pytest.raises(Crash):
            await Dispatcher(pool, {"webhook": CrashAfterSending(sender)}).deliver_due()
        async with pool.acquire() as conn:  # the crash rolled the mark back: nothing is lost
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM alert_outbox WHERE channel = 'webhook' AND delivered_at IS NULL"
                )
                == 1
            )
        await deliver_until_done(Dispatcher(pool, {"webhook": sender}), pool, "webhook")

    keys = [r.headers["idempotency-key"] for r in receiver.requests]
    assert len(keys) == 2 and len(set(keys)) == 1 and list(kept) == keys[:1]


@pytest.fixture
async def smtp_server() -> AsyncIterator[tuple[int, SmtpInbox]]:
    async with smtp_inbox() as served:
        yield served


async def test_email_reaches_the_committee_over_smtp(
    settings: Settings, pool: asyncpg.Pool, smtp_server: tuple[int, SmtpInbox]
) -> None:
    port, inbox = smtp_server
    config = parse_alert_config(
        f'routing:\n  committees:\n    "{PROVINCIAL}": {{ email: [ubkt@lamdong.example.invalid] }}\n'
        "notifications: { gather_seconds: 0 }\n"
    )
    with_recipients = ONLY_BELOW_PACE.model_copy(update={"routing": config.routing})
    await raise_one_alert(settings, pool, with_recipients, pim_smtp_host="127.0.0.1", pim_smtp_port=port,
                          pim_portal_public_url="https://pim.lamdong.example.vn/")  # fmt: skip
    dispatcher = Dispatcher(pool, {"email": EmailSender("127.0.0.1", port, "pim@example.invalid", config)})
    await deliver_until_done(dispatcher, pool, "email")
    (mail,) = inbox.messages
    assert mail["To"] == "ubkt@lamdong.example.invalid"
    assert email.utils.parsedate_to_datetime(mail["Date"]).tzinfo is not None
    assert mail["Subject"] == (  # one alert told from another: unit, rule, indicator and year, in words
        "[PIM · Nghiêm trọng / critical] Tỉnh Lâm Đồng: Chậm so với tiến độ / below pace —"
        " Giải ngân vốn đầu tư công 2025"
    )
    body = mail.get_content()
    assert "Nguyễn Ngọc Tú" in body and PROVINCIAL in body
    assert "Chỉ tiêu / indicator: Giải ngân vốn đầu tư công / public-investment disbursement" in body
    evidence = body[body.index("Căn cứ / evidence:") :]
    assert "  Tiến độ phải đạt / expected pace: " in evidence and "expected_pace" not in evidence
    assert re.search(r"Tỷ lệ đạt / rate: \d+,\d\d %", evidence)  # a rate as people write it
    assert not re.search(r"\d\.\d{5,}", evidence)  # no long raw decimals
    assert mail["Message-ID"].startswith("<pim-alert-")
    # the e-mail opens the alert's page, where the committee acts on it, and names the alert
    fingerprint = f"lam-dong/{DISB}/below_pace/2025"
    assert body.startswith("Mở cảnh báo để xử lý / open the alert to act on it: https://pim.lamdong.example.vn"
                           f"/committee/alert?fingerprint={quote(fingerprint, safe='')}")  # fmt: skip
    assert f"Mã cảnh báo / fingerprint: {fingerprint}" in body


async def test_grafana_annotation_is_created_once_through_grafana_client(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    created: list[dict[str, Any]] = []

    def grafana(request: Received, _: list[Received]) -> Response:
        if request.method == "GET" and request.path == "/api/annotations":
            tags = [part.split("=", 1)[1] for part in request.query.split("&") if part.startswith("tags=")]
            return JSONResponse([a for a in created if set(tags) <= set(a["tags"])])
        if request.method == "POST" and request.path == "/api/annotations":
            created.append(json.loads(request.body))
            return JSONResponse({"id": len(created), "message": "Annotation added"})
        return JSONResponse({"message": "not found"}, status_code=404)

    async with http_receiver(grafana) as stub:
        await raise_one_alert(settings, pool, pim_grafana_url=stub.url, pim_grafana_token="glsa_test")
        sender = GrafanaAnnotationSender(stub.url, "glsa_test")
        async with pool.acquire() as conn:
            message = await conn.fetchval("SELECT payload FROM alert_outbox WHERE channel = 'grafana'")
        await sender.send(message)
        await sender.send(message)  # a re-delivery finds its annotation by the idempotency tag

    posts = [r for r in stub.requests if r.method == "POST"]
    assert len(posts) == 1 and all(r.headers["authorization"] == "Bearer glsa_test" for r in stub.requests)
    (annotation,) = created
    assert "pim" in annotation["tags"] and "unit:lam-dong" in annotation["tags"]
    assert message["idempotency_key"] in annotation["tags"] and "Tỉnh Lâm Đồng" in annotation["text"]
    assert isinstance(annotation["time"], int) and annotation["time"] > 0


@pytest.fixture
async def alerts_consumer(settings: Settings) -> AsyncIterator[AIOKafkaConsumer]:
    await ensure_topics(settings)
    consumer = AIOKafkaConsumer(
        settings.alerts_topic, bootstrap_servers=bootstrap(settings), auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await stop_consumer(consumer)


@pytest.mark.kafka
async def test_every_alert_event_reaches_the_kafka_topic(
    settings: Settings, pool: asyncpg.Pool, alerts_consumer: AIOKafkaConsumer
) -> None:
    await raise_one_alert(settings, pool)
    producer = make_producer(settings)
    await producer.start()
    try:
        await deliver_until_done(
            Dispatcher(pool, {"kafka": KafkaSender(producer, settings.alerts_topic)}), pool, "kafka"
        )
    finally:
        await producer.stop()
    messages: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + 30
    while not messages and time.monotonic() < deadline:
        for batch in (await alerts_consumer.getmany(timeout_ms=500)).values():
            messages += batch
    assert messages, "nothing arrived on the alerts topic"
    assert [published_problems(json.loads(m.value), "AlertNotification") for m in messages] == [[]] * len(messages)
    kinds = {json.loads(m.value)["kind"] for m in messages}
    assert kinds == {"AlertRaised"} and {m.key for m in messages} == {b"lam-dong"}
    assert all(dict(m.headers)["idempotency-key"].startswith(b"pim-alert-") for m in messages)


async def test_an_email_channel_with_nobody_to_send_to_is_refused_at_start_and_never_delivered(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    with pytest.raises(ValueError, match="no e-mail recipient"):
        alerts_service(settings, pool, Clock(dt.date(2025, 4, 3)), ONLY_BELOW_PACE, pim_smtp_host="127.0.0.1")
    # and where a committee has no recipient after all, its e-mail fails instead of counting as sent
    message = {"routed_to": "Ủy ban Kiểm tra Huyện ủy X", "idempotency_key": "pim-alert-1", "kind": "AlertRaised",
               "dashboard_url": "http://grafana/d/pim-unit", "alert": {"severity": "warning", "unit_code": "x",
               "plan_year": 2025, "period": "2025", "rule": "below_pace"}}  # fmt: skip
    async with pool.acquire() as conn:
        reached, failed = await EmailSender("127.0.0.1", 1, "pim@example.invalid", ONLY_BELOW_PACE).send_gathered(
            conn, [Gathered(1, message)], set()
        )
    assert reached == [] and isinstance(failed[1], NoRecipient)


class AlwaysDown:
    async def send(self, message: dict[str, Any]) -> None:
        raise httpx.ConnectError("connection refused")


async def test_a_delivery_that_keeps_failing_is_dead_lettered_shown_in_metrics_and_sent_again_on_request(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    await raise_one_alert(settings, pool, pim_alert_webhook_url="http://127.0.0.1:9/h", pim_alert_webhook_secret="s")
    dispatcher = Dispatcher(pool, {"webhook": AlwaysDown()})
    for attempt in range(1, MAX_ATTEMPTS + 1):  # each attempt made due at once instead of waiting its backoff
        async with pool.acquire() as conn:
            await conn.execute("UPDATE alert_outbox SET next_attempt_at = now() WHERE channel = 'webhook'")
        await dispatcher.deliver_due()
        async with pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM alert_outbox WHERE channel = 'webhook'")
        assert row["attempts"] == attempt and row["delivered_at"] is None
    assert row["dead_lettered_at"] is not None and "ConnectError" in row["last_error"]
    assert await dispatcher.deliver_due() == 0  # no attempt after the last: explicitly given up

    await update_outbox_gauges(pool)
    metrics = generate_latest().decode()
    assert 'pim_alert_outbox_dead_lettered{channel="webhook"} 1.0' in metrics
    assert 'pim_alert_outbox_waiting{channel="webhook"} 0.0' in metrics

    env = {**os.environ, "DATABASE_URL": str(settings.database_url)}
    pim = str(Path(sys.executable).with_name("pim"))
    listed = await asyncio.to_thread(
        subprocess.run, [pim, "alerts", "deliveries"], env=env, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert f"{row['position']}/webhook" in listed.stdout and "dead-lettered" in listed.stdout
    retried = await asyncio.to_thread(
        subprocess.run, [pim, "alerts", "deliveries", "--retry-dead"], env=env, capture_output=True, text=True
    )
    assert "Queued 1 delivery" in retried.stdout, retried.stdout + retried.stderr
    async with pool.acquire() as conn:
        again = await conn.fetchrow("SELECT * FROM alert_outbox WHERE channel = 'webhook'")
    assert (again["attempts"], again["dead_lettered_at"]) == (0, None)


async def test_a_dispatcher_whose_listening_connection_postgres_ends_says_so_and_stops(pool: asyncpg.Pool) -> None:
    """As the relay: the loss of its NOTIFY connection ends the dispatcher's loop at once, with what happened."""
    task = asyncio.create_task(Dispatcher(pool, {}).run(poll_seconds=60))
    try:

        async def listening() -> bool:
            return bool(await terminate_listeners(pool, OUTBOX_CHANNEL))

        await eventually(listening, timeout_s=30, what="the dispatcher listening, then its connection ended")
        with pytest.raises(ConnectionResetError, match="NOTIFY connection to PostgreSQL was lost"):
            await asyncio.wait_for(task, timeout=30)  # not at the next poll, a minute away
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
            await task
