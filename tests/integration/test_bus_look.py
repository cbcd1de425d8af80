"""A one-off look at a topic's end offsets, as the settle waits and the tests take it."""

from __future__ import annotations

import pytest

from shared.bus import topic_end_offsets
from shared.settings import Settings

pytestmark = [pytest.mark.kafka]


async def test_a_look_at_a_topic_the_broker_does_not_hold_yet_says_it_holds_nothing(settings: Settings) -> None:
    # aiokafka's consumer stop awaits a task it has only just created: with nothing awaited between start
    # and stop (no partition to ask about), that task is cancelled before it ever ran and stop raised
    # CancelledError, which ended the fault suite's settle wait after the broker came back empty.
    for _ in range(5):
        assert await topic_end_offsets(settings, f"{settings.pim_topic_prefix}.absent") == {}
