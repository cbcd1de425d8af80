"""The AsyncAPI document of PIM's topics, generated with FastStream from the message models, written to
docs/ by `pim docs asyncapi` (JSON and YAML: the AsyncAPI HTML viewer loads scripts from the internet).

Relay and projector use aiokafka directly, so a documentation broker declares every topic with who
publishes and who consumes it, and the pydantic model of its messages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from services.ingest import FiguresSubmission
from shared.contracts import AlertNotification, DeadLetter, ProgressChanged
from shared.events import RecordedEvent
from shared.settings import Settings


def documentation_broker(settings: Settings) -> KafkaBroker:
    broker = KafkaBroker("kafka:9092", description="PIM's Kafka topics (names with the default prefix `pim`)")

    @broker.subscriber(
        settings.raw_topic,
        title="raw",
        description="Machine producers' figures submissions (the body of POST /v1/figures); headers "
        "`authorization: Bearer <token>` and optionally `idempotency-key`. Consumed by the ingest service.",
    )
    async def raw(message: FiguresSubmission) -> None: ...

    broker.publisher(
        settings.raw_dead_letter_topic,
        title="raw-dead-letter",
        schema=DeadLetter,
        description="Published by the ingest service for every raw message it refuses.",
    )
    broker.publisher(
        settings.ledger_topic,
        title="ledger",
        schema=RecordedEvent,
        description="Every stored event in position order, keyed by unit (stream id). Published by the relay, "
        "consumed by the projector; at least once, consumers skip by position. Headers: `pim-position` (the "
        "event's position) and `pim-previous` (the position of the event before it in the same partition; 0 "
        "for the first since the ledger was filled or refilled): a consumer that meets an event newer than any "
        "it read naming another predecessor skipped messages, and reads the partition again.",
    )

    @broker.subscriber(
        settings.progress_topic,
        title="progress",
        description="Published by the projector after each recompute commits, for every unit whose progress "
        "changed or whose current peer standing a peer's report moved; consumed by the alerts service.",
    )
    async def progress(message: ProgressChanged) -> None: ...

    broker.publisher(
        settings.alerts_topic,
        title="alerts",
        schema=AlertNotification,
        description="Every alert lifecycle event, keyed by unit, header `idempotency-key`. Published by the "
        "alerts service's outbox.",
    )
    return broker


def asyncapi_document() -> dict[str, Any]:
    settings = Settings(pim_topic_prefix="pim")
    spec = AsyncAPI(
        documentation_broker(settings),
        title="PIM — public-investment and budget-revenue monitor",
        version="1",
        description="Topics between PIM's services. See docs/architecture.md for the pipeline.",
        schema_version="3.0.0",
    )
    document: dict[str, Any] = json.loads(spec.to_specification().to_json())
    return document


def write_asyncapi(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    document = asyncapi_document()
    as_json = folder / "asyncapi.json"
    as_yaml = folder / "asyncapi.yaml"
    as_json.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    as_yaml.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return [as_json, as_yaml]
