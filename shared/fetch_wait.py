"""A consumer's fetch wait, honoured on the client side for brokers that do not honour it.

Kafka holds a fetch until records arrive or the consumer's `fetch_max_wait_ms` has passed. The embedded
noida-db answers at once even when it has nothing, and aiokafka fetches again straight away: an idle
consumer sent about 4,400 fetches a second, costing 85 % of a core in its own process and 13 % in the
broker (measured; Tansu and Kafka wait as asked). A few idle services took most of a 2-core machine,
and a busy one lost the CPU to fetching the partitions it had caught up on.

So an empty answer that came back early is held until the wait has passed, as Kafka would have held
it, for at most `MAX_HOLD_S` (the latency a record arriving meanwhile may see). Answers from a broker
that waits, and answers with records or errors, pass unchanged.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka.client import AIOKafkaClient

MAX_HOLD_S = 0.1  # ten fetches a second per idle consumer: negligible, and a new record waits at most this
_FETCH = 1  # the Kafka protocol's API key of Fetch


def is_empty_fetch_answer(response: Any) -> bool:
    """Whether a Fetch response carries neither records nor an error for any partition."""
    for _topic, partitions in response.topics:
        for _partition, error_code, *_, records in partitions:
            if error_code != 0 or records:
                return False
    return True


def honour_fetch_wait() -> None:
    """Install the hold on aiokafka's client (idempotent; every PIM consumer is made after it)."""
    if getattr(AIOKafkaClient.send, "holds_empty_fetches", False):
        return
    send = AIOKafkaClient.send

    async def send_holding_empty_fetches(self: AIOKafkaClient, node_id: int, request: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        response = await send(self, node_id, request, **kwargs)
        if getattr(request, "API_KEY", None) == _FETCH and is_empty_fetch_answer(response):
            wait_s = min(getattr(request, "_max_wait_ms", 0) / 1000, MAX_HOLD_S)
            left = wait_s - (time.monotonic() - started)
            if left > 0:
                await asyncio.sleep(left)
        return response

    send_holding_empty_fetches.holds_empty_fetches = True  # type: ignore[attr-defined]
    AIOKafkaClient.send = send_holding_empty_fetches
