"""`pim demo` (and the end-to-end tests) wait until the pipeline has settled before drawing lists and packs. An
alerts evaluation that commits while the check reads (its alerts stored after the head was read, the unit then
no longer stale) must not pass for settled: those alerts are not projected yet. It once did, in the fault suite."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from pim.demo import settle
from pim.stack import Stack
from shared.event_store import EventStore, Submitter
from shared.events import UnitRegistered
from shared.settings import Settings
from shared.topics import ensure_topics

pytestmark = pytest.mark.postgres


async def test_an_evaluation_committing_while_it_looks_is_not_settled(
    settings: Settings, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ensure_topics(settings)
    stack = Stack(settings, pool, str(settings.database_url))
    assert await settle.is_settled(stack)  # nothing stored, nothing to do

    async def evaluated_meanwhile(conn: asyncpg.Connection, today: dt.date) -> list[tuple[str, int]]:
        """The alerts service committing an evaluation just as the check asks: stored, and no longer stale."""
        unit = UnitRegistered(unit_code="hue", name="Huế", level="province", committee="Ủy ban Kiểm tra")
        await EventStore(pool).append([unit], Submitter("alerts", "test"))
        return []

    monkeypatch.setattr(settle, "stale_evaluations", evaluated_meanwhile)
    assert not await settle.is_settled(stack)  # stored, not yet relayed nor projected
