"""Creates the topics PIM uses, with the partition counts it expects."""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.bus import bootstrap
from shared.settings import Settings

LEDGER_PARTITIONS = 3  # keyed by unit
PROGRESS_PARTITIONS = 1  # the alerts service reads every partition (no consumer group)


async def ensure_topics(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = {
            settings.ledger_topic: LEDGER_PARTITIONS,
            settings.raw_topic: LEDGER_PARTITIONS,
            settings.raw_dead_letter_topic: 1,
            settings.progress_topic: PROGRESS_PARTITIONS,
            settings.alerts_topic: 1,
        }
        missing = [NewTopic(name, n, 1) for name, n in wanted.items() if name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another service made them meanwhile
                await admin.create_topics(missing)
    finally:
        await admin.close()
