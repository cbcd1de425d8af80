"""Machine producers on the raw topic, against a real broker and PostgreSQL: good messages are stored,
bad ones go to the dead-letter topic with the reason, and intake goes on."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from services.ingest.raw_intake import RawIntake, build_raw_intake_broker
from shared.bus import make_producer
from shared.contracts import DeadLetter
from shared.settings import Settings
from shared.topics import ensure_topics
from tests.integration.ingest_fixtures import TODAY, Ingest, disbursement
from tests.kafka_helpers import eventually, read_topic
from tests.published_schema import published_problems

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def submission(*rows: dict[str, object]) -> bytes:
    return json.dumps({"disbursements": list(rows)}).encode()


Send = Callable[[bytes, dict[str, str]], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_intake(settings: Settings, ingest: Ingest) -> AsyncIterator[Send]:
    """Raw intake running on the broker, and a way to send it a message with headers."""
    broker = build_raw_intake_broker(settings, RawIntake(ingest.pool, clock=lambda: TODAY))
    await broker.start()
    producer = make_producer(settings)
    await producer.start()

    async def send(value: bytes, headers: dict[str, str]) -> None:
        encoded = [(k, v.encode()) for k, v in headers.items()]
        await producer.send_and_wait(settings.raw_topic, value, key=b"lam-dong", headers=encoded)

    try:
        yield send
    finally:
        await producer.stop()
        await broker.stop()


async def test_bad_messages_go_to_the_dead_letter_topic_and_intake_goes_on(settings: Settings, ingest: Ingest) -> None:
    await ensure_topics(settings)
    token = ingest.lam_dong["Authorization"]
    messages = [
        (submission(disbursement(amount="1000", as_of="2025-04-30")), {"authorization": token}),
        (b"{not json", {"authorization": token}),
        (submission(disbursement("hue")), {"authorization": token}),  # outside the token's scope
        (submission(disbursement()), {}),  # no token
        (submission(disbursement(amount="2000", as_of="2025-05-31")), {"authorization": token, "idempotency-key": "k"}),
    ]
    before = await ingest.event_count()
    async with raw_intake(settings, ingest) as send:
        for value, headers in messages:
            await send(value, headers)

        async def both_stored() -> bool:
            return await ingest.event_count() == before + 2

        await eventually(both_stored, what="the two good submissions stored")
        dead = await read_topic(settings, settings.raw_dead_letter_topic, lambda r: len(r) >= 3)
    letters = [json.loads(r.value) for r in dead]
    for letter in letters:  # each one as the published contract (and the AsyncAPI document made from it) says
        DeadLetter.model_validate(letter)
        assert published_problems(letter, "DeadLetter") == []
    assert [letter["source"]["offset"] for letter in letters] == sorted(
        letter["source"]["offset"] for letter in letters
    )
    assert "not a valid figures submission" in letters[0]["reason"]
    assert letters[0]["original"]["text"] == "{not json"
    assert letters[1]["errors"][0]["reason"] == "outside the scope of so-tai-chinh-lam-dong"
    assert "authorization" in letters[2]["reason"]
    assert all("authorization" not in letter["headers"] for letter in letters)  # tokens never leak
    async with ingest.pool.acquire() as conn:
        channels = await conn.fetch("SELECT DISTINCT channel FROM events WHERE event_type = 'DisbursementReported'")
    assert [r["channel"] for r in channels] == ["kafka"]


async def test_poison_messages_are_parked_and_the_message_behind_them_is_stored(
    settings: Settings, ingest: Ingest
) -> None:
    await ensure_topics(settings)
    token = {"authorization": ingest.lam_dong["Authorization"]}
    poison = [
        b"[" * 50_000 + b"]" * 50_000,  # nested 50,000 deep
        submission(disbursement(category="central\x00budget")),  # a NUL inside a text field, escaped in JSON
        submission(disbursement(amount=str(10**40))),
        b'{"disbursements": [{"unit_code": "lam-dong\x00"}]}',  # a raw NUL byte: not JSON at all
    ]
    good = submission(disbursement(amount="1000", as_of="2025-04-30"))
    before = await ingest.event_count()
    async with raw_intake(settings, ingest) as send:
        for value in [*poison, good]:
            await send(value, token)

        async def good_stored() -> bool:
            return await ingest.event_count() == before + 1

        await eventually(good_stored, what="the valid message behind the poison stored")
        dead = await read_topic(settings, settings.raw_dead_letter_topic, lambda r: len(r) >= len(poison))
    assert len(dead) == len(poison)
    assert all(published_problems(json.loads(r.value), "DeadLetter") == [] for r in dead)
