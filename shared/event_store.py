"""The PostgreSQL event store: append-only, idempotent per source, gap-safe for readers.

Positions are the global order readers follow. A small append takes them under the append lock and holds
it until it commits (milliseconds). A bulk append reserves its positions on a connection of its own (the
lock held for that alone), then writes them, for as long as that takes, while other appends go on above
it; readers read up to the store's horizon, just below the first reservation still being written, so a
reader that has seen position N never later finds a new event below N. Every append first locks the
streams it writes (one writer per stream), then takes the lock: whoever holds the lock waits for nothing.
A reservation whose transaction rolled back leaves a hole in the positions, which readers pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from shared import locks
from shared.events import DomainEvent, RecordedEvent

EVENTS_APPENDED_CHANNEL = "pim_events"  # NOTIFY after an append: the relay wakes


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
    first_position: int
    last_position: int
    duplicate: bool  # True when the submission had been stored before and nothing new was written
    event_ids: tuple[UUID, ...] | None = None  # when the writer read them in its own transaction

    @property
    def positions(self) -> list[int]:
        return list(range(self.first_position, self.last_position + 1))

    @property
    def count(self) -> int:
        return self.last_position - self.first_position + 1


@dataclass(frozen=True)
class Submitter:
    """Who appends, through which channel, and (optionally) under which idempotency key."""

    submitted_by: str
    channel: str
    source: str | None = None
    idempotency_key: str | None = None
    correlation_id: UUID | None = None

    def __post_init__(self) -> None:
        if (self.source is None) != (self.idempotency_key is None):
            raise ValueError("source and idempotency_key go together")


def content_hash(events: Sequence[DomainEvent]) -> bytes:
    canonical = json.dumps(
        [e.model_dump(mode="json") for e in events], sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).digest()


# A stream's lock row, made by its first writer (a second waits on the first's insert until it commits).
_NEW_STREAMS = (
    "WITH new AS (INSERT INTO store_stream_locks (stream_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING"
    " RETURNING stream_id) "
)

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

# Appends rows produced by a query in set-based SQL. The query yields (ord, stream_id, event_type,
# schema_version, occurred_on, payload); positions follow `ord`, stream versions continue each stream.
_NEW_EVENTS = """
new AS (
    SELECT row_number() OVER (ORDER BY q.ord) AS n, q.* FROM ({query}) AS q
), streams AS MATERIALIZED (  -- once per stream: inlined, it re-read the stream's versions for every row
    SELECT d.stream_id, coalesce((SELECT max(e.stream_version) FROM events e WHERE e.stream_id = d.stream_id), 0) AS v
    FROM (SELECT DISTINCT stream_id FROM new) AS d
)"""
_INSERT_EVENTS = """
INSERT INTO events ({columns})
SELECT {head} + new.n, gen_random_uuid(), new.stream_id,
       streams.v + row_number() OVER (PARTITION BY new.stream_id ORDER BY new.n),
       new.event_type, new.schema_version, new.occurred_on, ${by}, ${channel}, ${correlation}, new.payload
FROM new JOIN streams USING (stream_id)"""
_APPEND_QUERY = "WITH" + _NEW_EVENTS + _INSERT_EVENTS


def append_statement(query: str, args: int) -> str:
    """The statement `insert_from_query` runs for `query` (taking `args` parameters), for the caller's
    parameters then head, submitted_by, channel, correlation id."""
    n = args
    return _APPEND_QUERY.format(
        query=query, columns=", ".join(_EVENT_COLUMNS), head=f"${n + 1}", by=n + 2, channel=n + 3, correlation=n + 4
    )


# What finishing a submission writes, from `span` (its first and last positions, no row if it stored
# nothing): its receipt and, when it has a key, its idempotency record.
_RECEIPT_AND_KEY = """
receipt AS (
    INSERT INTO store_receipts (first_position, last_position, submitted_by, channel)
    SELECT first, last, ${by}, ${channel} FROM span
), kept AS (
    INSERT INTO submissions (source, idempotency_key, content_hash, first_position, last_position)
    SELECT ${source}, ${key}, ${digest}, first, last FROM span WHERE ${key}::text IS NOT NULL
)"""

# A submission's receipt, its idempotency record and the relay woken, for positions already written.
_FINISH_SUBMISSION = (
    "WITH span AS (SELECT $1::bigint AS first, $2::bigint AS last), "
    + _RECEIPT_AND_KEY.format(by=3, channel=4, source=5, key=6, digest=7)
    + "\nSELECT pg_notify($8, $9)"
)


# A small submission's append and its finish in one statement, for a writer holding the append lock
# (`EventStore.lock_append`): positions after the head as this statement sees it (it began after the lock
# was taken), then the receipt, the idempotency record, the relay woken, and the events' ids returned.
_APPEND_AND_FINISH = (
    "WITH"
    + _NEW_EVENTS
    + ", appended AS ("
    + _INSERT_EVENTS
    + """
    RETURNING position, event_id
), span AS (
    SELECT min(position) AS first, max(position) AS last, array_agg(event_id ORDER BY position) AS ids
    FROM appended HAVING count(*) > 0
),"""
    + _RECEIPT_AND_KEY
    + "\nSELECT first, last, ids, pg_notify(${notify}, last::text) FROM span\n"
)


class EventStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @staticmethod
    async def lock_streams(conn: asyncpg.Connection, streams: Iterable[str]) -> None:
        """Lock `streams` for the rest of the transaction: one writer per stream, so its versions continue
        without a race and what the writer checked about them holds until it commits. Before `lock`."""
        await conn.execute(_NEW_STREAMS + locks.STORE_STREAMS, sorted(set(streams)))

    @staticmethod
    async def lock_free_streams(conn: asyncpg.Connection, streams: Iterable[str]) -> set[str]:
        """`lock_streams` for those of `streams` no other writer holds; returns the ones another writer holds,
        left unlocked. (A stream another writer is making, its first, is still waited for.)"""
        wanted = sorted(set(streams))
        locked = await conn.fetch(  # the streams it made (locked by its own insert) and those it could lock
            f"{_NEW_STREAMS.rstrip()}, free AS ({locks.STORE_STREAMS_FREE})"
            " SELECT stream_id FROM new UNION ALL SELECT stream_id FROM free",
            wanted,
        )
        return set(wanted) - {r["stream_id"] for r in locked}

    @staticmethod
    async def lock(conn: asyncpg.Connection) -> int:
        """Take the append lock for the rest of the transaction; return the head (the last position taken).

        Gap safety for small appends: one at a time, each until it commits, so their positions become
        visible in the order they were assigned, and rolled-back ones leave no holes. (A sequence alone
        would let a transaction holding N+1 commit before one holding N.) Callers that validate against the
        store's state lock its streams (`lock_streams`), then this, so what they checked is what they
        append to. Bulk appends `reserve` instead.
        """
        await EventStore.lock_append(conn)
        head: int = await conn.fetchval("SELECT store_head()")
        return head

    @staticmethod
    async def lock_append(conn: asyncpg.Connection) -> None:
        """`lock` for a writer that reads the head in its append statement (`append_and_finish`)."""
        await conn.execute(locks.STORE_APPEND)

    @staticmethod
    async def append_and_finish(
        conn: asyncpg.Connection, query: str, args: Sequence[Any], submitter: Submitter, digest: bytes
    ) -> AppendResult | None:
        """`insert_from_query` and `finish_submission` in one round trip, with the events' ids, for a small
        submission whose writer holds its streams and the append lock (`lock_append`); None if the query
        yielded nothing."""
        n = len(args)
        numbers = dict(by=n + 1, channel=n + 2, correlation=n + 3, source=n + 4, key=n + 5, digest=n + 6, notify=n + 7)
        # The head as this statement sees it: it began after the append lock was taken.
        head = "(SELECT store_head())"
        sql = _APPEND_AND_FINISH.format(query=query, columns=", ".join(_EVENT_COLUMNS), head=head, **numbers)
        try:
            row = await conn.fetchrow(
                sql, *args, submitter.submitted_by, submitter.channel, submitter.correlation_id, submitter.source,
                submitter.idempotency_key, digest, EVENTS_APPENDED_CHANNEL,
            )  # fmt: skip
        except asyncpg.UniqueViolationError as error:
            _refuse_a_reused_key(error, submitter)
            raise
        if row is None:
            return None
        return AppendResult(row["first"], row["last"], duplicate=False, event_ids=tuple(row["ids"]))

    @staticmethod
    async def reserve(own: asyncpg.Connection, writer_xid: int, count: int) -> tuple[int, int]:
        """Reserve `count` positions for the transaction `writer_xid` (its `pg_current_xact_id()`), which
        will write them, holding the append lock only for this. Committed on `own`, a connection beside the
        writer's, so readers see the reservation (and stop below it) while the writer runs; the writer
        deletes it as it commits (`release`). Returns the (first, last) positions reserved."""
        async with own.transaction():
            await own.execute(locks.STORE_APPEND)
            # Reservations left by transactions that are over rolled back; the head stays above them.
            await own.execute(
                "DELETE FROM store_reservations WHERE pg_visible_in_snapshot(xid, pg_current_snapshot())"
                " AND last_position < (SELECT max(position) FROM events)"
            )
            row = await own.fetchrow(
                "INSERT INTO store_reservations (first_position, last_position, xid)"
                " SELECT head + 1, head + $1, $2::xid8 FROM store_head() AS head"
                " RETURNING first_position, last_position",
                count,
                writer_xid,
            )
        return row["first_position"], row["last_position"]

    @staticmethod
    async def writer_xid(conn: asyncpg.Connection) -> int:
        """The id of `conn`'s transaction, for `reserve`."""
        xid: int = await conn.fetchval("SELECT pg_current_xact_id()")
        return xid

    @staticmethod
    async def release(conn: asyncpg.Connection, first: int) -> None:
        """Drop the reservation starting at `first`, in the writer's transaction: it goes as the events come."""
        await conn.execute("DELETE FROM store_reservations WHERE first_position = $1", first)

    @staticmethod
    async def earlier_submission(conn: asyncpg.Connection, submitter: Submitter, digest: bytes) -> AppendResult | None:
        """The result of an earlier submission under the same key, or None; a conflict if its content differs."""
        if submitter.idempotency_key is None:
            return None
        row = await conn.fetchrow(
            "SELECT content_hash, first_position, last_position FROM submissions"
            " WHERE source = $1 AND idempotency_key = $2",
            submitter.source,
            submitter.idempotency_key,
        )
        if row is None:
            return None
        if bytes(row["content_hash"]) != digest:
            raise IdempotencyConflict(str(submitter.source), submitter.idempotency_key)
        return AppendResult(row["first_position"], row["last_position"], duplicate=True)

    async def append(
        self,
        events: Sequence[DomainEvent],
        submitter: Submitter,
        *,
        expected_versions: Mapping[str, int] | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> AppendResult:
        """Append `events` atomically. With an idempotency key, a re-sent submission returns the
        original events; pass `conn` (inside a transaction) to append as part of a larger one."""
        if not events:
            raise ValueError("nothing to append")
        if conn is not None:
            return await self._append(conn, events, submitter, expected_versions)
        async with self._pool.acquire() as own, own.transaction():
            return await self._append(own, events, submitter, expected_versions)

    async def _append(
        self,
        conn: asyncpg.Connection,
        events: Sequence[DomainEvent],
        submitter: Submitter,
        expected_versions: Mapping[str, int] | None,
    ) -> AppendResult:
        await self.lock_streams(conn, (e.stream_id() for e in events))
        head = await self.lock(conn)
        digest = content_hash(events) if submitter.idempotency_key is not None else b""
        earlier = await self.earlier_submission(conn, submitter, digest)
        if earlier is not None:
            return earlier

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

        records = []
        for offset, event in enumerate(events, start=1):
            stream_id = event.stream_id()
            versions[stream_id] += 1
            payload = event.model_dump(mode="json")
            records.append(
                (
                    head + offset,
                    uuid.uuid4(),
                    stream_id,
                    versions[stream_id],
                    payload["type"],
                    event.schema_version,
                    event.occurred_on(),
                    submitter.submitted_by,
                    submitter.channel,
                    submitter.correlation_id,
                    payload,
                )
            )
        await conn.copy_records_to_table("events", records=records, columns=_EVENT_COLUMNS)
        return await self.finish_submission(conn, submitter, digest, head + 1, head + len(events))

    @staticmethod
    async def insert_from_query(
        conn: asyncpg.Connection, query: str, args: Sequence[Any], submitter: Submitter, *, after: int
    ) -> tuple[int, int] | None:
        """Insert the events a query yields (see `_APPEND_QUERY`) at the positions after `after`: a
        reservation's first position - 1, or the head when the caller holds the lock (`lock`).
        Inside the caller's transaction, which has locked the streams. For bulk imports: the rows never
        travel through Python. Returns the (first, last) positions written, or None if the query yielded
        nothing. A submission may call this several times, then `finish_submission` once."""
        sql = append_statement(query, len(args))
        status = await conn.execute(
            sql, *args, after, submitter.submitted_by, submitter.channel, submitter.correlation_id
        )
        count = int(status.split()[-1])
        return (after + 1, after + count) if count else None

    async def finish_submission(
        self, conn: asyncpg.Connection, submitter: Submitter, digest: bytes, first: int, last: int
    ) -> AppendResult:
        """Record the submission's positions (its receipt; for idempotency) and wake the relay."""
        try:  # one round trip: a single report's commit path counts them
            await conn.execute(
                _FINISH_SUBMISSION, first, last, submitter.submitted_by, submitter.channel, submitter.source,
                submitter.idempotency_key, digest, EVENTS_APPENDED_CHANNEL, str(last),
            )  # fmt: skip
        except asyncpg.UniqueViolationError as error:
            _refuse_a_reused_key(error, submitter)
            raise
        return AppendResult(first, last, duplicate=False)

    async def event_ids(self, result: AppendResult) -> list[UUID]:
        if result.event_ids is not None:
            return list(result.event_ids)
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT event_id FROM events WHERE position BETWEEN $1 AND $2 ORDER BY position",
                result.first_position,
                result.last_position,
            )
        return [r["event_id"] for r in rows]

    async def read_after(self, position: int, limit: int = 1000) -> list[RecordedEvent]:
        """Events with a position above `position` and up to the horizon, in position order."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM events WHERE position > $1 AND position <= (SELECT store_horizon())"
                " ORDER BY position LIMIT $2",
                position,
                limit,
            )
        return [recorded_event(row) for row in rows]

    async def head(self, conn: asyncpg.Connection | None = None) -> int:
        """The last position appended (0 for none); on `conn` when given, so a caller holding a connection
        never waits for a second one from the pool (several such callers at once would wait for ever)."""
        if conn is not None:
            value: int = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
            return value
        async with self._pool.acquire() as own:
            return await self.head(own)


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


@dataclass(frozen=True)
class Receipt:
    """What one submission stored: its positions, when, through which channel, and what it held."""

    first_position: int
    last_position: int
    recorded_at: dt.datetime
    channel: str
    submitted_by: str
    events: int
    corrections: int
    units: tuple[str, ...]
    first_date: dt.date | None  # the dates its facts are about
    last_date: dt.date | None


async def receipts_of(conn: asyncpg.Connection, submitted_by: str, limit: int = 50) -> list[Receipt]:
    """The sender's submissions, newest first, each summed up from its events (a range of positions)."""
    rows = await conn.fetch(
        "SELECT r.first_position, r.last_position, r.recorded_at, r.channel, r.submitted_by, s.*"
        " FROM (SELECT * FROM store_receipts WHERE submitted_by = $1 ORDER BY first_position DESC LIMIT $2) r"
        " CROSS JOIN LATERAL (SELECT count(*) AS events,"
        "  count(*) FILTER (WHERE e.event_type = 'FigureCorrected') AS corrections,"
        "  array_agg(DISTINCT e.stream_id ORDER BY e.stream_id) AS units, min(e.occurred_on) AS first_date,"
        "  max(e.occurred_on) AS last_date"
        "  FROM events e WHERE e.position BETWEEN r.first_position AND r.last_position) s"
        " ORDER BY r.first_position DESC",
        submitted_by, limit,
    )  # fmt: skip
    return [
        Receipt(r["first_position"], r["last_position"], r["recorded_at"], r["channel"], r["submitted_by"],
                r["events"], r["corrections"], tuple(r["units"]), r["first_date"], r["last_date"])
        for r in rows
    ]  # fmt: skip


def _refuse_a_reused_key(error: asyncpg.UniqueViolationError, submitter: Submitter) -> None:
    """A submission's record refused because another under the same key committed meanwhile: the same content
    would have waited for it on the same streams and been answered as a duplicate, so this one differs."""
    if error.table_name == "submissions" and submitter.idempotency_key is not None:
        raise IdempotencyConflict(str(submitter.source), submitter.idempotency_key) from None
