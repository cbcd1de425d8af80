"""Did the projector skip ledger messages? A broker that lost its data and was refilled by the relay holds
the same events at other offsets (a batch the relay re-sent on the old ledger is there once), so an offset
remembered from the old ledger — a checkpoint, or the consumer's own position when the refill came while it
ran — names another message in the new one, and reading on from it skips the events between.

The relay chains each message to the event it put before it in the same partition (shared/bus.py's
headers). Reading a partition in order, an event newer than any read must name as its predecessor the
newest read; if it names another, the messages between were skipped and the partition is read again from
its start (re-applied events are no-ops). Events at or below the newest read are re-sends or a refill's
older events, written again harmlessly. Nothing can be skipped before offset 0.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aiokafka import ConsumerRecord

from shared.bus import chain_link


def follow(newest: int, links: Sequence[tuple[int, int, int | None]]) -> int | None:
    """The newest position after reading `links` (offset, position, predecessor or None when unknown) in
    order, from a partition whose newest event read so far is `newest`; None when the chain breaks."""
    for offset, position, previous in links:
        if position <= newest:
            continue
        if previous is not None and previous != newest and offset != 0:
            return None
        newest = position
    return newest


def links(messages: Sequence[ConsumerRecord[Any, bytes]]) -> list[tuple[int, int, int | None]]:
    """Each message's (offset, position, predecessor); a message published before the chain is decoded for
    its position and names no predecessor."""
    out: list[tuple[int, int, int | None]] = []
    for message in messages:
        link = chain_link(message)
        if link is None:
            out.append((message.offset, int(json.loads(message.value)["position"]), None))
        else:
            out.append((message.offset, *link))
    return out
