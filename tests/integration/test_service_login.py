"""The services run as a login that owns nothing (role pim_service): given the operator's login, a service
migrates and then connects as the services' login; that login can append and project but cannot disable
or drop the event log's append-only trigger, rewrite the log, make tokens or change the schema; given a
non-operator login and a schema that lacks migrations, a service refuses to start, naming them."""

from __future__ import annotations

import asyncpg
import pytest

from pim.stack import running_stack, service_database_url
from shared.db import SchemaNotCurrent, connected, migration_files
from shared.settings import Settings

pytestmark = [pytest.mark.postgres]


async def test_a_service_given_the_operators_login_runs_as_the_services_login(settings: Settings) -> None:
    dsn = await service_database_url(settings)
    assert dsn != settings.database_url
    async with connected(dsn) as conn:
        assert await conn.fetchval("SELECT current_user") == settings.pim_service_login
        assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE tableowner = current_user") == 0
        # what the application's own login could do before: disable or drop the append-only trigger
        for statement in (
            "ALTER TABLE events DISABLE TRIGGER events_append_only",
            "DROP TRIGGER events_append_only ON events",
            "UPDATE events SET position = position",
            "DELETE FROM events",
            "TRUNCATE events",
            "INSERT INTO api_tokens (token_id, name, secret_hash, role) VALUES ('x', 'x', '\\x00', 'admin')",
            "CREATE TABLE mine (x int)",
            "DROP TABLE alerts",
            "DELETE FROM schema_migrations",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
        # and what it must do
        assert await conn.fetchval("SELECT count(*) FROM api_tokens") == 0  # checks tokens
        async with conn.transaction():
            await conn.execute("SELECT 1 FROM store_locks WHERE name = 'append' FOR UPDATE")
            await conn.execute("SELECT 1 FROM projector_locks WHERE name = 'batches' FOR UPDATE")


async def test_the_running_stack_connects_as_the_services_login(settings: Settings) -> None:
    async with running_stack(settings, ["relay"]) as stack, stack.pool.acquire() as conn:
        assert await conn.fetchval("SELECT current_user") == settings.pim_service_login
    async with connected(str(settings.database_url)) as conn:
        assert await conn.fetchval("SELECT current_user") != settings.pim_service_login


async def test_a_service_given_its_own_login_refuses_a_schema_that_lacks_migrations(settings: Settings) -> None:
    service_dsn = await service_database_url(settings)
    own = settings.model_copy(update={"database_url": service_dsn})
    assert await service_database_url(own) == service_dsn  # current: used as it is, nothing migrated

    latest = migration_files()[-1][0]
    async with connected(str(settings.database_url)) as conn:
        await conn.execute("DELETE FROM schema_migrations WHERE name = $1", latest)
    with pytest.raises(SchemaNotCurrent, match=latest) as refused:
        await service_database_url(own)
    assert "pim init" in str(refused.value)
