"""An idle consumer of the embedded broker waits between fetches, as Kafka would make it wait, and
still receives a record as soon as the next fetch."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.client import AIOKafkaClient

from shared.bus import make_consumer, make_producer, stop_consumer
from shared.settings import Settings
from shared.topics import ensure_topics
from tests.kafka_helpers import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def test_an_idle_consumer_fetches_a_few_times_a_second_and_gets_new_records(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ensure_topics(settings)
    consumer = make_consumer(settings, settings.progress_topic, group="idle")
    fetches = 0
    send = AIOKafkaClient.send  # with the hold installed by make_consumer

    async def counting(self: AIOKafkaClient, node_id: int, request: Any, **kwargs: Any) -> Any:
        nonlocal fetches
        fetches += getattr(request, "API_KEY", None) == 1
        return await send(self, node_id, request, **kwargs)

    monkeypatch.setattr(AIOKafkaClient, "send", counting)
    await consumer.start()
    try:
        await eventually(lambda: _assigned(consumer), what="partitions assigned")
        fetches = 0
        assert await consumer.getmany(timeout_ms=1000) == {}
        # A broker that answers at once without the hold: thousands of fetches a second.
        assert fetches <= 20

        producer = make_producer(settings)
        await producer.start()
        try:
            await producer.send_and_wait(settings.progress_topic, "Cà Mau".encode(), key=b"ca-mau")
        finally:
            await producer.stop()
        received: list[bytes] = []

        async def got_it() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                received.extend(r.value for r in records)
            return bool(received)

        await eventually(got_it, what="the new record")
        assert received == ["Cà Mau".encode()]
    finally:
        await stop_consumer(consumer)


async def _assigned(consumer: Any) -> bool:
    return bool(consumer.assignment())
