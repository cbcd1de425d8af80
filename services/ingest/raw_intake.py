"""Intake from the raw topic, for machine producers (other government systems).

A message is one figures submission: the JSON body of `POST /v1/figures`, with headers
`authorization: Bearer <token>` and optionally `idempotency-key`. A message that cannot be accepted goes
to the dead-letter topic with the reason, and intake goes on. A failure of PIM itself (database down) is
not the message's fault: the message is not committed and is read again.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, TopicPartition
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from pydantic import ValidationError

from services.ingest.errors import RowError, SubmissionRejected, row_error_from_pydantic, shown_value
from services.ingest.figure_intake import FigureIntake
from services.ingest.figure_rows import figure_from_event
from services.ingest.submissions import FiguresSubmission
from shared.auth import Unauthenticated, authenticate
from shared.bus import make_broker
from shared.contracts import DeadLetter, OriginalMessage
from shared.event_store import IdempotencyConflict, Submitter, content_hash
from shared.resilience import DEPENDENCY_ERRORS
from shared.settings import IngestSettings
from shared.topics import LEDGER_PARTITIONS

log = logging.getLogger(__name__)
CHANNEL = "kafka"


class Refused(Exception):
    def __init__(self, reason: str, errors: list[RowError] | None = None) -> None:
        super().__init__(reason)
        self.reason, self.errors = reason, errors or []


class RawIntake:
    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], dt.date] = dt.date.today) -> None:
        self._pool = pool
        self._intake = FigureIntake(pool, clock)

    async def accept(self, body: bytes, headers: dict[str, str], origin: str | None = None) -> int:
        """Store one raw submission; return how many events it produced. Raises Refused. `origin` (topic,
        partition and offset) names the message: without an idempotency key of its own, it is the key, so
        a message read again after a crash is stored once."""
        try:
            submission = FiguresSubmission.model_validate_json(body)
        except ValidationError as invalid:
            errors = [row_error_from_pydantic(dict(e)) for e in invalid.errors()]
            raise Refused("the message is not a valid figures submission", errors) from None
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            raise Refused("no 'authorization: Bearer <token>' header")
        async with self._pool.acquire() as conn:
            try:
                principal = await authenticate(conn, token.strip())
            except Unauthenticated as error:
                raise Refused(f"token refused: {error}") from None
        events = [*submission.disbursements, *submission.revenues, *submission.corrections]
        key = headers.get("idempotency-key") or None
        if key is not None:
            submitter = Submitter(principal.name, CHANNEL, source=principal.name, idempotency_key=key)
        else:
            source = None if origin is None else "raw-topic"
            submitter = Submitter(principal.name, CHANNEL, source=source, idempotency_key=origin)
        rows = [figure_from_event(event, row) for row, event in enumerate(events, start=1)]
        try:
            result = await self._intake.submit(rows, principal, submitter, content_hash(events))
        except SubmissionRejected as rejected:
            raise Refused(f"{rejected.total} row(s) refused; nothing was stored", rejected.errors) from None
        except IdempotencyConflict as conflict:
            raise Refused(str(conflict)) from None
        return result.stored


def dead_letter(reason: str, errors: list[RowError], message: Any) -> dict[str, Any]:
    """What the dead-letter topic carries: the reason, the row errors, and the original message."""
    body: bytes = message.body
    try:
        original = OriginalMessage(text=body.decode("utf-8"))
    except UnicodeDecodeError:
        original = OriginalMessage(base64=base64.b64encode(body).decode())
    record = message.raw_message
    letter = DeadLetter(
        reason=reason,
        errors=[e.as_dict() for e in errors],
        source={"topic": record.topic, "partition": record.partition, "offset": record.offset},
        original=original,
        headers={k: v for k, v in message.headers.items() if k.lower() != "authorization"},
    )
    return letter.model_dump(mode="json", exclude_none=True)


async def _undecoded(message: StreamMessage[Any]) -> bytes:
    """The body as it came: FastStream's own JSON decoding would raise on hostile input (50,000 nested
    brackets) before the handler could park the message, and so read it again for ever."""
    return message.body


def build_raw_intake_broker(settings: IngestSettings, intake: RawIntake) -> KafkaBroker:
    """The FastStream app of raw intake: submissions in, refusals to the dead-letter topic."""
    broker = make_broker(settings, "ingest")
    dead_letters = broker.publisher(settings.raw_dead_letter_topic)

    # The partitions are assigned here, not by group membership (noida-db never hands a killed member's
    # partitions to its successor); the group only keeps the committed offsets. Every instance reads
    # every partition: a message read twice is stored once (its idempotency key, or the content digest).
    @broker.subscriber(
        partitions=[TopicPartition(settings.raw_topic, p) for p in range(LEDGER_PARTITIONS)],
        group_id=settings.consumer_group("ingest-raw"),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,  # a dependency away: read the message again
        decoder=_undecoded,
    )
    async def on_raw_submission(message: KafkaMessage) -> None:  # the raw bytes: bad JSON is ours to report
        headers = {k.lower(): v for k, v in message.headers.items()}

        async def park(reason: str, errors: list[RowError]) -> None:
            record = message.raw_message
            key = None if isinstance(record, tuple) else record.key  # a tuple only for batch subscribers
            await dead_letters.publish(dead_letter(reason, errors, message), key=key)

        record = message.raw_message
        origin = None if isinstance(record, tuple) else f"{record.topic}/{record.partition}/{record.offset}"
        try:
            await intake.accept(message.body, headers, origin)
        except Refused as refused:
            log.info("raw intake: refused message: %s", refused.reason)
            await park(refused.reason, refused.errors)
        except DEPENDENCY_ERRORS:
            raise  # the database or the broker is away: read the message again when it is back
        except Exception as error:  # a message we cannot handle is parked, never re-read for ever
            log.exception("raw intake: a message could not be processed; parked on the dead-letter topic")
            await park(f"the message could not be processed ({type(error).__name__}: {shown_value(str(error))})", [])

    return broker
