"""The PostgreSQL event store: append-only, idempotent per source, gap-safe for readers."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from shared.events import DomainEvent, RecordedEvent

NOTIFY_CHANNEL = "pim_events"


class ConcurrencyError(Exception):
    """A stream moved on since the writer read it (optimistic concurrency)."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream_id!r} is at version {actual}, the writer expected {expected}")
        self.stream_id, self.expected, self.actual = stream_id, expected, actual


class IdempotencyConflict(Exception):
    """The same source re-used an idempotency key for different content."""

    def __init__(self, source: str, key: str) -> None:
        super().__init__(f"idempotency key {key!r} of {source!r} was already used for different content")
        self.source, self.key = source, key


@dataclass(frozen=True)
class AppendResult:
    event_ids: list[UUID]
    positions: list[int]
    duplicate: bool  # True when the submission had been stored before and nothing new was written


def content_hash(events: Sequence[DomainEvent]) -> bytes:
    canonical = json.dumps(
        [e.model_dump(mode="json") for e in events], sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).digest()


_EVENT_COLUMNS = (
    "position",
    "event_id",
    "stream_id",
    "stream_version",
    "event_type",
    "schema_version",
    "occurred_on",
    "submitted_by",
    "channel",
    "correlation_id",
    "payload",
)


class EventStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def append(
        self,
        events: Sequence[DomainEvent],
        *,
        submitted_by: str,
        channel: str,
        source: str | None = None,
        idempotency_key: str | None = None,
        expected_versions: Mapping[str, int] | None = None,
        correlation_id: UUID | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> AppendResult:
        """Append `events` atomically. With an idempotency key, a re-sent submission returns the
        original events; pass `conn` (inside a transaction) to append as part of a larger one."""
        if not events:
            raise ValueError("nothing to append")
        if (source is None) != (idempotency_key is None):
            raise ValueError("source and idempotency_key go together")
        if conn is not None:
            return await self._append(
                conn,
                events,
                submitted_by,
                channel,
                source,
                idempotency_key,
                expected_versions,
                correlation_id,
            )
        async with self._pool.acquire() as own, own.transaction():
            return await self._append(
                own, events, submitted_by, channel, source, idempotency_key, expected_versions, correlation_id
            )

    async def _append(
        self,
        conn: asyncpg.Connection,
        events: Sequence[DomainEvent],
        submitted_by: str,
        channel: str,
        source: str | None,
        idempotency_key: str | None,
        expected_versions: Mapping[str, int] | None,
        correlation_id: UUID | None,
    ) -> AppendResult:
        # Gap safety: one appender at a time. EXCLUSIVE blocks other writers until this transaction
        # ends but not readers, so positions become visible in the order they were assigned: a
        # reader that has seen position N never later finds a new event below N. (A sequence alone
        # would let a transaction holding N+1 commit before one holding N.) Positions are max + 1
        # under the lock, so rolled-back appends leave no holes either. Appends are batched per
        # submission, which keeps the serialisation cheap.
        await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")

        digest = content_hash(events) if idempotency_key is not None else b""
        if idempotency_key is not None:
            earlier = await conn.fetchrow(
                "SELECT content_hash, event_ids FROM submissions WHERE source = $1 AND idempotency_key = $2",
                source,
                idempotency_key,
            )
            if earlier is not None:
                if bytes(earlier["content_hash"]) != digest:
                    raise IdempotencyConflict(str(source), idempotency_key)
                ids: list[UUID] = list(earlier["event_ids"])
                rows = await conn.fetch(
                    "SELECT position FROM events WHERE event_id = ANY($1::uuid[]) ORDER BY position", ids
                )
                return AppendResult(ids, [r["position"] for r in rows], duplicate=True)

        streams = sorted({e.stream_id() for e in events})
        versions: dict[str, int] = {
            r["stream_id"]: r["version"]
            for r in await conn.fetch(
                "SELECT s AS stream_id,"
                " coalesce((SELECT max(stream_version) FROM events WHERE stream_id = s), 0) AS version"
                " FROM unnest($1::text[]) AS s",
                streams,
            )
        }
        for stream_id, expected in (expected_versions or {}).items():
            if versions.get(stream_id, 0) != expected:
                raise ConcurrencyError(stream_id, expected, versions.get(stream_id, 0))

        head: int = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
        records = []
        ids = []
        for offset, event in enumerate(events, start=1):
            stream_id = event.stream_id()
            versions[stream_id] += 1
            event_id = uuid.uuid4()
            ids.append(event_id)
            payload = event.model_dump(mode="json")
            records.append(
                (
                    head + offset,
                    event_id,
                    stream_id,
                    versions[stream_id],
                    payload["type"],
                    event.schema_version,
                    event.occurred_on(),
                    submitted_by,
                    channel,
                    correlation_id,
                    payload,
                )
            )
        await conn.copy_records_to_table("events", records=records, columns=_EVENT_COLUMNS)
        if idempotency_key is not None:
            await conn.execute(
                "INSERT INTO submissions (source, idempotency_key, content_hash, event_ids) VALUES ($1, $2, $3, $4)",
                source,
                idempotency_key,
                digest,
                ids,
            )
        await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, str(head + len(events)))
        return AppendResult(ids, list(range(head + 1, head + len(events) + 1)), duplicate=False)

    async def read_after(self, position: int, limit: int = 1000) -> list[RecordedEvent]:
        """Events with a position above `position`, in position order."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM events WHERE position > $1 ORDER BY position LIMIT $2", position, limit
            )
        return [recorded_event(row) for row in rows]

    async def head(self) -> int:
        async with self._pool.acquire() as conn:
            value: int = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
        return value


def recorded_event(row: asyncpg.Record) -> RecordedEvent:
    return RecordedEvent(
        event_id=row["event_id"],
        position=row["position"],
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        event_type=row["event_type"],
        schema_version=row["schema_version"],
        recorded_at=row["recorded_at"],
        submitted_by=row["submitted_by"],
        channel=row["channel"],
        correlation_id=row["correlation_id"],
        payload=row["payload"],
    )
