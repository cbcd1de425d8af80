"""The projector service: consumes the ledger in batches and keeps the read models current.

Each batch writes its facts, records what they touched (`pending`) and moves the checkpoint in one
transaction. The derived rows (progress, peer standing, accountability) are recomputed from the facts
for everything pending once the consumer has caught up, or once the oldest pending work has waited as
long as the last recompute took: a burst of events costs few recomputes, not one per batch, and the
read models lag by at most about one recompute.

The consumer position is stored in PostgreSQL in the same transaction as the rows it produced (not in
Kafka), so a crash between the two is impossible; on assignment the consumer seeks to it, after writing
a long backlog from the event store instead (catch_up.py: bounded memory whatever the broker hands over).
A checkpoint is trusted only while its partition still holds, just before it, the message of the
checkpoint's position: a broker that lost its data ends before it, or, refilled by the relay, holds the
same events at other offsets (a batch the relay re-sent on the old ledger is there once). Such a partition
is read again from the start (re-applied events are no-ops); checked on assignment and every
LEDGER_CHECK_S while running.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaTimeoutError

from services.projector import catch_up, pending
from services.projector.fact_tables import write_ledger_messages
from services.projector.progress_rules import ProgressRules, progress_rules
from services.projector.recompute import recompute
from shared import locks
from shared.bus import assign_all, make_consumer, make_producer, still_holds
from shared.contracts import ProgressChanged
from shared.observability import (
    EVENTS_PROJECTED,
    PROJECTOR_BATCH_SECONDS,
    PROJECTOR_POSITION,
    PROJECTOR_RECOMPUTE_SECONDS,
    PROJECTOR_RECOMPUTED,
)
from shared.settings import Settings
from shared.topics import ensure_topics

log = logging.getLogger(__name__)

MAX_BATCH = 10_000  # messages per batch: bigger batches gain little and hold more memory
PARTITION_CHECK_S = 10.0  # how often the projector looks for partitions added to the ledger
LEDGER_CHECK_S = 2.0  # how often it checks that the ledger still holds its checkpoints (one small fetch each)
MIN_STALENESS_S = 1.0  # while behind, recompute at most this often (more rarely when recomputes take longer)


def recompute_due(pending_for_s: float, behind: bool, last_recompute_s: float) -> bool:
    """With work pending for `pending_for_s`: recompute now if the consumer has caught up; while it is
    behind, once the work has waited as long as the last recompute took (at least MIN_STALENESS_S), so
    at most about half the time goes to recomputing and a burst is folded into few recomputes."""
    return not behind or pending_for_s >= max(MIN_STALENESS_S, last_recompute_s)


def _carries(position: int) -> Callable[[ConsumerRecord[Any, bytes]], bool]:
    return lambda record: bool(json.loads(record.value)["position"] == position)


class Projector:
    """The ledger consumer. Handed its rules (no I/O when built): `from_settings` reads the pace and
    assessment files."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, rules: ProgressRules) -> None:
        self._settings = settings
        self._pool = pool
        self._topic = settings.ledger_topic
        self._rules = rules
        self._consumer: AIOKafkaConsumer | None = None
        self._probe: AIOKafkaConsumer | None = None  # reads single messages: is a checkpoint still held?
        self._verified: dict[TopicPartition, tuple[int, int, int]] = {}  # (end, offset, position) found held
        self._pending_since: float | None = time.monotonic()  # a previous run may have left work pending
        self._last_recompute_s = 0.0

    @property
    def rules(self) -> ProgressRules:
        return self._rules

    @classmethod
    def from_settings(cls, settings: Settings, pool: asyncpg.Pool) -> Projector:
        return cls(settings, pool, progress_rules(settings))

    async def run(self) -> None:
        await ensure_topics(self._settings)
        # No consumer group: every instance reads every partition from the checkpoints in PostgreSQL (the
        # writes are idempotent and the checkpoints only move forward), so a killed instance's successor
        # resumes at once, whatever the broker does with group membership. More instances add redundancy.
        consumer = make_consumer(self._settings, group=None)
        producer = make_producer(self._settings)
        self._consumer, self._probe = consumer, make_consumer(self._settings, group=None)
        await consumer.start()
        await self._probe.start()
        await producer.start()
        try:
            assigned = await self._assign(consumer)
            looked = checked = time.monotonic()
            while True:
                if time.monotonic() - checked > LEDGER_CHECK_S:
                    checked = time.monotonic()
                    await self.reread_lost_partitions(assigned)
                if time.monotonic() - looked > PARTITION_CHECK_S:  # a broker that lost its data may come
                    looked = time.monotonic()  # back with the ledger's partitions re-created one by one
                    await consumer.topics()
                    if len(consumer.partitions_for_topic(self._topic) or ()) > len(assigned):
                        log.warning("projector: the ledger has new partitions; reading them too")
                        assigned = await self._assign(consumer)
                batches = await consumer.getmany(timeout_ms=500, max_records=MAX_BATCH)
                if batches:
                    await self.apply_batches(batches)
                if self._recompute_due(consumer, batches):
                    await self._notify(producer, await self.recompute_pending())
        finally:
            await producer.stop()
            await self._probe.stop()
            await consumer.stop()

    async def _assign(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """Read every partition of the ledger from its checkpoint, after catching up from the store if far
        behind. Paused meanwhile: the consumer would otherwise start fetching from the earliest offset."""
        assigned = await assign_all(consumer, self._topic)
        consumer.pause(*assigned)
        await self.catch_up_if_far_behind(assigned)
        await self.seek_to_checkpoints(assigned)
        consumer.resume(*assigned)
        return assigned

    async def catch_up_if_far_behind(self, assigned: list[TopicPartition]) -> int:
        """Write a long backlog from the event store rather than the ledger (services/projector/catch_up.py);
        return the number of events written so."""
        assert self._consumer is not None
        ends = {tp.partition: end for tp, end in (await self._consumer.end_offsets(assigned)).items()}
        async with self._pool.acquire() as conn:
            work = await catch_up.pending_work(conn, self._topic, ends, self._settings.pim_projector_catch_up_lag)
        if work is None:
            return 0
        log.info("projector: far behind the ledger; writing positions %d-%d from the store", work.start + 1, work.up_to)
        written = await catch_up.catch_up(self._pool, self._topic, work)
        PROJECTOR_POSITION.set(work.up_to)
        self._pending_since = self._pending_since or time.monotonic()
        EVENTS_PROJECTED.inc(written)
        return written

    async def seek_to_checkpoints(self, assigned: list[TopicPartition]) -> None:
        assert self._consumer is not None
        if self._pending_since is None:  # an instance that died may have left work pending
            self._pending_since = time.monotonic()
        stored = await self._checkpoints()
        lost = await self._lost(assigned, stored, unsure=KafkaTimeoutError)
        await self._forget(lost)
        for tp in assigned:
            self._consumer.seek(tp, 0 if tp in lost else stored.get(tp.partition, (0, 0))[0])

    async def reread_lost_partitions(self, assigned: list[TopicPartition]) -> None:
        """While running: a partition whose checkpoint the ledger no longer holds is read again from the start
        (the consumer may have gone on at its old offset in a refilled ledger, past events it never read)."""
        assert self._consumer is not None
        lost = await self._lost(assigned, await self._checkpoints(), unsure=None)
        await self._forget(lost)
        for tp in lost:
            self._consumer.seek(tp, 0)

    async def _checkpoints(self) -> dict[int, tuple[int, int]]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT partition, next_offset, position FROM projector_offsets WHERE topic = $1", self._topic
            )
        return {r["partition"]: (r["next_offset"], r["position"]) for r in rows}

    async def _lost(
        self, assigned: list[TopicPartition], stored: dict[int, tuple[int, int]], unsure: type[Exception] | None
    ) -> set[TopicPartition]:
        """The partitions whose checkpoint names a message the ledger no longer holds. When the broker does not
        answer in time: raise `unsure` (on assignment: try again later), or count the partition as held (while
        running: the next check looks again)."""
        assert self._consumer is not None and self._probe is not None
        ends = await self._consumer.end_offsets(assigned)
        lost: set[TopicPartition] = set()
        for tp in assigned:
            offset, position = stored.get(tp.partition, (0, 0))
            if offset == 0 or (position == 0 and ends[tp] >= offset):
                continue  # nothing read yet, or a checkpoint older than positions: only its offset can be checked
            if self._verified.get(tp) == (ends[tp], offset, position):
                continue  # found held, and nothing moved since
            held = await still_holds(self._probe, tp, offset - 1, _carries(position), ends[tp])
            if held is None and unsure is not None:
                raise unsure(f"the ledger did not answer whether {tp} still holds position {position}")
            if held is False:
                log.warning("projector: %s no longer holds position %d at offset %d (it ends at %d); re-reading it",
                            tp, position, offset - 1, ends[tp])  # fmt: skip
                lost.add(tp)
            elif held:
                self._verified[tp] = (ends[tp], offset, position)
        return lost

    async def _forget(self, lost: set[TopicPartition]) -> None:
        """Checkpoints only move forward: a lost partition's is set back to its start explicitly."""
        if not lost:
            return
        async with self._pool.acquire() as conn:
            await conn.execute(
                "UPDATE projector_offsets SET next_offset = 0, position = 0 WHERE topic = $1 AND partition = ANY($2)",
                self._topic,
                [tp.partition for tp in lost],
            )

    def _recompute_due(self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list]) -> bool:  # type: ignore[type-arg]
        if self._pending_since is None:
            return False
        behind = any((consumer.highwater(tp) or 0) > messages[-1].offset + 1 for tp, messages in batches.items())
        return recompute_due(time.monotonic() - self._pending_since, behind, self._last_recompute_s)

    async def apply_batches(self, batches: dict[TopicPartition, list]) -> None:  # type: ignore[type-arg]
        """Write the facts of `batches`, record what they touched and move the checkpoint, atomically."""
        started = time.perf_counter()
        values = [m.value for messages in batches.values() for m in messages]
        # The position of each partition's last message (one decoded per partition): see catch_up.py.
        offsets = [
            (tp.topic, tp.partition, messages[-1].offset + 1, json.loads(messages[-1].value)["position"])
            for tp, messages in batches.items()
        ]
        async with self._pool.acquire() as conn, conn.transaction():
            # Shared with other batches; a rebuild's swap takes it exclusively (services/projector/rebuild.py).
            await conn.execute(locks.PROJECTOR_BATCHES_SHARED)
            await pending.record(conn, await write_ledger_messages(conn, values))
            await conn.executemany(catch_up.MOVE_CHECKPOINT, offsets)
        if self._pending_since is None:
            self._pending_since = time.monotonic()
        EVENTS_PROJECTED.inc(len(values))
        seconds = time.perf_counter() - started
        PROJECTOR_BATCH_SECONDS.observe(seconds)
        up_to = max(position for *_, position in offsets)
        PROJECTOR_POSITION.set(up_to)
        log.info("projector: applied %d ledger events (up to position %d) in %.0f ms", len(values), up_to,
                 seconds * 1000, extra={"events": len(values), "positions": [up_to]})  # fmt: skip

    async def recompute_pending(self) -> list[ProgressChanged]:
        """Bring the derived rows up to date with every fact written so far."""
        started = time.perf_counter()
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(locks.PROJECTOR_BATCHES_SHARED)
            # One recompute at a time across instances: a peer group's standing is computed from its
            # members' rows, which another instance's recompute may be rewriting; waiting for it means
            # reading them after its commit (each statement sees what was committed before it began).
            await conn.execute(locks.PROJECTOR_RECOMPUTE)
            changes = await recompute(conn, await pending.take(conn), self._rules)
        self._pending_since = None
        self._last_recompute_s = time.perf_counter() - started
        PROJECTOR_RECOMPUTE_SECONDS.observe(self._last_recompute_s)
        PROJECTOR_RECOMPUTED.set_to_current_time()
        units = sorted({c.unit_code for c in changes})
        log.info("projector: progress recomputed in %.0f ms; %d changes for %d units%s", self._last_recompute_s * 1000,
                 len(changes), len(units), f" ({', '.join(units[:5])}{' …' if len(units) > 5 else ''})" if units
                 else "", extra={"events": len(changes)})  # fmt: skip
        return changes

    async def _notify(self, producer: AIOKafkaProducer, changes: list[ProgressChanged]) -> None:
        topic = self._settings.progress_topic
        futures = [await producer.send(topic, c.model_dump_json().encode(), key=c.unit_code.encode()) for c in changes]
        for future in futures:
            await future
