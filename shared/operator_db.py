"""The database an operator's command works on: DATABASE_URL, migrated before use."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
import typer

from shared.db import create_pool, migrate
from shared.settings import Settings


def database_url() -> str:
    url = Settings().database_url
    if url is None:
        raise typer.BadParameter("set DATABASE_URL to the PIM database")
    return url


@contextlib.asynccontextmanager
async def migrated_pool(max_size: int = 4) -> AsyncIterator[asyncpg.Pool]:
    """A pool on DATABASE_URL after pending migrations are applied; closed on exit."""
    url = database_url()
    await migrate(url)
    pool = await create_pool(url, max_size=max_size)
    try:
        yield pool
    finally:
        await pool.close()
