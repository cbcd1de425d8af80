"""Kafka plumbing shared by the services: producers, consumers and the ledger message format."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faststream.kafka import KafkaBroker

from shared.events import RecordedEvent
from shared.settings import Settings


def bootstrap(settings: Settings) -> str:
    if settings.kafka_bootstrap_servers is None:
        raise RuntimeError("KAFKA_BOOTSTRAP_SERVERS is not set and no embedded broker was started")
    return settings.kafka_bootstrap_servers


def make_producer(settings: Settings) -> AIOKafkaProducer:
    """A producer that waits for all in-sync replicas; idempotent where the broker supports it."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap(settings),
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=15_000,
    )


def make_broker(settings: Settings, service: str) -> KafkaBroker:
    """A FastStream broker for `service`; per-message logs at DEBUG (one line a message is too much at INFO)."""
    return KafkaBroker(
        bootstrap(settings),
        enable_idempotence=settings.kafka_enable_idempotence,
        log_level=logging.DEBUG,
        logger=logging.getLogger(f"pim.{service}.broker"),
    )


def make_consumer(settings: Settings, *topics: str, group: str, **options: Any) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap(settings),
        group_id=settings.consumer_group(group),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **options,
    )


def encode_recorded(event: RecordedEvent) -> bytes:
    return event.model_dump_json().encode()


def decode_recorded(value: bytes) -> RecordedEvent:
    return RecordedEvent.model_validate_json(value)


def encode_json(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, default=str).encode()
