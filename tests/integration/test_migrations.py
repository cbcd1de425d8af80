"""The migrations on a real PostgreSQL: every relation in the schema is one a migration creates (so each
has an owner), and a database migrated before the owner-named files were introduced keeps working."""

from __future__ import annotations

import datetime as dt

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


async def test_alerts_recorded_before_their_data_dates_get_them_from_the_log(pool: asyncpg.Pool) -> None:
    """0019 on a database with alerts already: each alert's first data date is its AlertRaised event's, a
    resolved one's the latest AlertResolved's after it (an earlier life's resolution does not count)."""
    (data_dates,) = [sql for name, sql in migration_files() if name == "0019_alerts_data_dates.sql"]
    events = [  # position, type, payload
        (1, "AlertRaised", {"fingerprint": "a", "as_of": "2025-03-31"}),
        (2, "AlertResolved", {"fingerprint": "b", "as_of": "2025-02-28"}),  # b's earlier life
        (3, "AlertRaised", {"fingerprint": "b", "as_of": "2025-04-30"}),
        (4, "AlertResolved", {"fingerprint": "b", "as_of": "2025-06-30"}),
        (5, "AlertResolved", {"fingerprint": "b", "as_of": "2025-07-31"}),
    ]
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DROP VIEW alert_ages")  # the database as it stood before 0019
        await conn.execute("ALTER TABLE alerts DROP COLUMN raised_as_of, DROP COLUMN resolved_as_of")
        for position, kind, payload in events:
            await conn.execute(
                "INSERT INTO events (position, event_id, stream_id, stream_version, event_type, schema_version,"
                " submitted_by, channel, payload) VALUES ($1, gen_random_uuid(), 'alerts', $4, $2, 1, 'alerts',"
                " 'service', $3)",
                position, kind, payload, position,
            )  # fmt: skip
        for fingerprint, status, raised in (("a", "open", 1), ("b", "resolved", 3)):
            await conn.execute(
                "INSERT INTO alerts (fingerprint, unit_code, indicator, plan_year, rule, severity, status, as_of,"
                " committee, evidence, raised_position) VALUES ($1, 'da-lat', NULL, 2025, 'below_pace', 'warning',"
                " $2, '2025-10-31', 'UBKT', '{}', $3)",
                fingerprint, status, raised,
            )  # fmt: skip
        await conn.execute(data_dates)
        rows = {
            r["fingerprint"]: r for r in await conn.fetch("SELECT * FROM alerts JOIN alert_ages USING (fingerprint)")
        }
    assert (rows["a"]["raised_as_of"], rows["a"]["resolved_as_of"]) == (dt.date(2025, 3, 31), None)
    assert (rows["b"]["raised_as_of"], rows["b"]["resolved_as_of"]) == (dt.date(2025, 4, 30), dt.date(2025, 7, 31))
    assert rows["b"]["age_days"] == (dt.date(2025, 7, 31) - dt.date(2025, 4, 30)).days
