"""Creates the topics PIM uses, with the partition counts it expects, wherever they are missing: at start,
and by the relay after every broker loss (a broker that lost its data may auto-create a topic with one
partition when the first producer writes to it)."""

from __future__ import annotations

import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.bus import bootstrap
from shared.settings import CommonSettings

log = logging.getLogger(__name__)

LEDGER_PARTITIONS = 3  # keyed by unit
PROGRESS_PARTITIONS = 1  # the alerts service reads every partition (no consumer group)


def wanted_topics(settings: CommonSettings) -> dict[str, int]:
    """Each topic PIM uses, with its number of partitions."""
    return {
        settings.ledger_topic: LEDGER_PARTITIONS,
        settings.raw_topic: LEDGER_PARTITIONS,
        settings.raw_dead_letter_topic: 1,
        settings.progress_topic: PROGRESS_PARTITIONS,
        settings.alerts_topic: 1,
    }


async def ensure_topics(settings: CommonSettings) -> None:
    """Create the missing topics, and give a topic with fewer partitions than PIM's its missing ones."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(settings))
    await admin.start()
    try:
        wanted = wanted_topics(settings)
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, n, 1) for name, n in wanted.items() if name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another service made them meanwhile
                await admin.create_topics(missing)
        present = [name for name in wanted if name in existing]
        short = {
            t["topic"]: NewPartitions(wanted[t["topic"]])
            for t in (await admin.describe_topics(present) if present else [])
            if len(t["partitions"]) < wanted[t["topic"]]
        }
        if short:
            log.warning("topics %s have fewer partitions than PIM's: adding the missing ones", sorted(short))
            await admin.create_partitions(short)
    finally:
        await admin.close()
