"""The Kafka channel sends a round's notifications all in flight at once and reports each one's outcome: one
the broker refused is retried alone, one that could not even be queued waits with the rest behind it."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, NotLeaderForPartitionError, OutOfOrderSequenceNumber

from services.alerts.delivery import KafkaSender


class Producer:
    """The half of AIOKafkaProducer the sender uses: `send` queues and returns the acknowledgement's future."""

    def __init__(self, refused: set[int], unqueued_from: int | None = None) -> None:
        self.refused, self.unqueued_from = refused, unqueued_from
        self.keys: list[bytes] = []

    async def send(self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> Any:
        if self.unqueued_from is not None and len(self.keys) >= self.unqueued_from:
            raise KafkaConnectionError("no broker")
        acknowledged = asyncio.get_running_loop().create_future()
        if len(self.keys) in self.refused:
            acknowledged.set_exception(NotLeaderForPartitionError())
        else:
            acknowledged.set_result(len(self.keys))
        self.keys.append(key)
        return acknowledged


def _message(n: int) -> dict[str, Any]:
    return {"idempotency_key": f"pim-alert-{n}", "alert": {"unit_code": f"unit-{n}"}, "kind": "AlertRaised"}


async def test_each_notification_gets_its_own_outcome() -> None:
    producer = Producer(refused={1})
    sender = KafkaSender(cast(AIOKafkaProducer, producer), "pim.alerts")
    outcomes = await sender.send_many([_message(n) for n in range(3)])
    assert [type(o).__name__ if o else None for o in outcomes] == [None, "NotLeaderForPartitionError", None]
    assert producer.keys == [b"unit-0", b"unit-1", b"unit-2"]  # queued in order


async def test_what_could_not_be_queued_waits_with_the_rest() -> None:
    sender = KafkaSender(cast(AIOKafkaProducer, Producer(refused=set(), unqueued_from=1)), "pim.alerts")
    outcomes = await sender.send_many([_message(n) for n in range(3)])
    assert outcomes[0] is None and all(isinstance(o, KafkaConnectionError) for o in outcomes[1:])


async def test_a_producer_the_broker_refuses_for_good_is_replaced() -> None:
    class Spent(Producer):
        stopped = False

        async def send(self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> Any:
            raise OutOfOrderSequenceNumber()

        async def stop(self) -> None:
            self.stopped = True

    spent, fresh = Spent(refused=set()), Producer(refused=set())

    async def renew() -> AIOKafkaProducer:
        return cast(AIOKafkaProducer, fresh)

    sender = KafkaSender(cast(AIOKafkaProducer, spent), "pim.alerts", renew=renew)
    refused = await sender.send_many([_message(0)])
    assert isinstance(refused[0], OutOfOrderSequenceNumber) and spent.stopped
    assert await sender.send_many([_message(1)]) == [None] and fresh.keys == [b"unit-1"]  # the next round goes out
