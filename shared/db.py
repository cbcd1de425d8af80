"""PostgreSQL connections and the schema-migration runner.

Migrations are plain SQL files in `shared/migrations/`, applied in name order, each in its own
transaction, recorded in `schema_migrations`. An advisory lock lets several services start at once.
Each file is named `NNNN_<owner>_<what>.sql`: its owner is the one writer of the tables it creates
(tests hold every write statement to its owner's code).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from shared import locks


def _encode_jsonb(value: object) -> bytes:
    return b"\x01" + json.dumps(value, ensure_ascii=False).encode()  # binary jsonb: version byte, then text


def _decode_jsonb(data: bytes) -> object:
    return json.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary, so COPY (the fast path for appends) can carry jsonb too.
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=_init_connection)
    assert pool is not None
    return pool


async def connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn


async def copy_rows_as_csv(
    conn: asyncpg.Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    empty_text: Sequence[str] = (),
) -> None:
    """COPY `rows` into `table` as CSV rather than asyncpg's binary COPY, which encodes every numeric in
    Python (about 1 µs per Decimal here): for rows of many Decimals CSV, written by `str` and the csv
    module, costs half the time. Values go through `str`, so Decimals stay exact. None is NULL; CSV cannot
    tell an empty string from NULL, so name the text columns whose empty strings stay strings."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    await conn.copy_to_table(
        table,
        source=io.BytesIO(buffer.getvalue().encode()),
        columns=list(columns),
        format="csv",
        force_not_null=list(empty_text) or None,
    )


READER_STATEMENT_TIMEOUT = "30s"

# Who may own a migration, and where that owner's code lives.
OWNERS = {
    "store": "shared/event_store.py", "auth": "shared/auth.py", "relay": "services/relay/",
    "ingest": "services/ingest/", "projector": "services/projector/", "alerts": "services/alerts/",
    "platform": "shared/db.py",  # logins and grants, no tables
}  # fmt: skip
# Migrations renamed to name their owner (two were split in two): a database migrated before the rename
# records the old names, which stand for the new ones.
RENAMED = {
    "0001_event_store.sql": ("0001_relay_state.sql", "0001_store_events.sql"),
    "0002_projector.sql": ("0002_projector_read_models.sql",),
    "0003_alerts.sql": ("0003_alerts_table.sql",),
    "0004_ingest.sql": ("0004_auth_tokens.sql", "0004_ingest_state.sql"),
    "0005_alert_lifecycle.sql": ("0005_alerts_lifecycle.sql",),
    "0006_reader_role.sql": ("0006_platform_reader_role.sql",),
    "0007_alert_peer_state.sql": ("0007_alerts_peer_state.sql",),
    "0010_assessment_groups.sql": ("0010_projector_assessment_groups.sql",),
    "0011_known_on_snapshots.sql": ("0011_projector_known_on_snapshots.sql",),
    "0012_unit_hierarchy_view.sql": ("0012_ingest_unit_hierarchy_view.sql",),
}


def redacted(dsn: str) -> str:
    """A connection URL fit to print: its password replaced by `***`."""
    parts = urlsplit(dsn)
    if not parts.password:
        return dsn
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def migration_owner(name: str) -> str:
    """The owner a migration's file name gives (`0004_ingest_state.sql` → ingest)."""
    owner = name.split("_")[1] if name.count("_") >= 1 else ""
    if owner not in OWNERS:
        raise ValueError(f"migration {name} names no owner: expected NNNN_<{'|'.join(OWNERS)}>_<what>.sql")
    return owner


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("shared") / "migrations"
    files = sorted((f.name, f.read_text(encoding="utf-8")) for f in folder.iterdir() if f.name.endswith(".sql"))
    return files


async def migrate(dsn: str) -> list[str]:
    """Apply the migrations not yet applied; return their names."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", locks.MIGRATIONS)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        if renamed := sorted(done & RENAMED.keys()):
            async with conn.transaction():
                await conn.execute("DELETE FROM schema_migrations WHERE name = ANY($1::text[])", renamed)
                new_names = [new for old in renamed for new in RENAMED[old]]
                await conn.execute("INSERT INTO schema_migrations (name) SELECT unnest($1::text[])", new_names)
            done = (done - set(renamed)) | set(new_names)
        applied = []
        for name, sql in migration_files():
            if name in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            applied.append(name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", locks.MIGRATIONS)
        await conn.close()


async def ensure_reader_login(conn: asyncpg.Connection, login: str, password: str) -> None:
    """A login in the read-only role `pim_reader` (for Grafana): created, or its password reset."""
    name = await conn.fetchval("SELECT quote_ident($1)", login)
    secret = await conn.fetchval("SELECT quote_literal($1)", password)
    exists = await conn.fetchval("SELECT true FROM pg_roles WHERE rolname = $1", login)
    if exists:
        await conn.execute(f"ALTER ROLE {name} LOGIN PASSWORD {secret}")
    else:
        await conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD {secret}")
    await conn.execute(f"GRANT pim_reader TO {name}")
    # A dashboard's query is cut off rather than left holding the database (settings apply per login).
    await conn.execute(f"ALTER ROLE {name} SET statement_timeout = '{READER_STATEMENT_TIMEOUT}'")
