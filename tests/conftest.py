"""Test infrastructure: one real PostgreSQL and one real broker per test session (embedded unless
DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS point elsewhere); a fresh database and fresh topic names for
every test, so tests never see each other's data."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from xdist.scheduler import LoadFileScheduling

from pim.embedded import infrastructure
from shared.db import create_pool, migrate
from shared.settings import Settings


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


class _EndToEndTogether(LoadFileScheduling):  # type: ignore[misc]  # xdist ships no type information
    """`make test`'s two workers take a test file at a time, and the end-to-end tests (tests/e2e) all together,
    one after another: they share one demo per worker (tests/e2e/conftest.py), drawn again each time a worker
    came back to them after another file, and two of those `pim demo`-sized tests at once on two cores slowed
    each other. (xdist's own `loadgroup` no longer groups on pytest 9.2: pytest-dev/pytest-xdist#1386.)"""

    def _split_scope(self, nodeid: str) -> str:
        file = super()._split_scope(nodeid)
        return "tests/e2e" if file.startswith("tests/e2e/") else file


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadFileScheduling | None:
    return _EndToEndTogether(config, log) if config.getvalue("dist") == "loadfile" else None


@pytest.fixture(scope="session")
async def infra() -> AsyncIterator[Settings]:
    async with infrastructure(Settings()) as ready:
        try:
            yield ready
        finally:
            await _drop_template(ready)


# One database migrated per session, copied for each test that wants a migrated one: a copy costs a
# fraction of applying every migration (and the grants after them) again.
_templates: dict[str, str] = {}


async def _migrated_template(infra: Settings) -> str:
    assert infra.database_url is not None
    if infra.database_url not in _templates:
        name = f"pim_template_{uuid.uuid4().hex[:12]}"
        await _admin(infra, f'CREATE DATABASE "{name}"')
        await migrate(with_database(infra.database_url, name))
        _templates[infra.database_url] = name
    return _templates[infra.database_url]


async def _drop_template(infra: Settings) -> None:
    if (name := _templates.pop(infra.database_url or "", None)) is not None:
        await _admin(infra, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(infra: Settings, statement: str) -> None:
    admin = await asyncpg.connect(infra.database_url)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def fresh_database(infra: Settings, migrated: bool = True) -> AsyncIterator[Settings]:
    """Settings with a database of their own (migrated unless asked not to, dropped afterwards) and a topic
    prefix of their own."""
    assert infra.database_url is not None
    name = f"pim_test_{uuid.uuid4().hex[:12]}"
    template = f' TEMPLATE "{await _migrated_template(infra)}"' if migrated else ""
    await _admin(infra, f'CREATE DATABASE "{name}"{template}')
    dsn = with_database(infra.database_url, name)
    try:
        yield infra.model_copy(update={"database_url": dsn, "pim_topic_prefix": f"t{uuid.uuid4().hex[:10]}"})
    finally:
        await _admin(infra, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def settings(infra: Settings) -> AsyncIterator[Settings]:
    """Settings for one test: its own database (migrated) and its own topic prefix."""
    async with fresh_database(infra) as own:
        yield own


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    assert settings.database_url is not None
    pool = await create_pool(settings.database_url, max_size=20)
    yield pool
    await pool.close()
