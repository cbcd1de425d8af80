"""The migrations on a real PostgreSQL: every relation in the schema is one a migration creates (so each
has an owner), and a database migrated before the owner-named files were introduced keeps working."""

from __future__ import annotations

import asyncpg
import pytest

from shared.db import RENAMED, migrate, migration_files
from shared.settings import Settings
from tests.unit.test_layout import _created_by_owner

pytestmark = pytest.mark.postgres


async def test_every_relation_in_the_schema_is_created_by_an_owned_migration(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        relations = {
            r["name"]
            for r in await conn.fetch(
                "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p')"
            )
        }
    assert relations - {"schema_migrations"} == set(_created_by_owner())


async def test_a_database_migrated_under_the_old_names_applies_nothing_again(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    assert settings.database_url is not None
    async with pool.acquire() as conn:  # as a database migrated before the rename records it
        new_names = [new for news in RENAMED.values() for new in news]
        await conn.execute("DELETE FROM schema_migrations WHERE name = ANY($1::text[])", new_names)
        await conn.execute("INSERT INTO schema_migrations (name) SELECT unnest($1::text[])", list(RENAMED))

    assert await migrate(settings.database_url) == []

    async with pool.acquire() as conn:
        recorded = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
    assert recorded == {name for name, _ in migration_files()}
