"""PostgreSQL connections and the schema-migration runner.

Migrations are plain SQL files in `shared/migrations/`, applied in name order in one transaction,
recorded in `schema_migrations`, by the operator's login (`pim init`, `pim migrate`, `pim up`);
the services run as a login in `pim_service`, which owns nothing, and check the schema is current.
Each file is named `NNNN_<owner>_<what>.sql`: its owner is the one writer of the tables it creates
(tests hold every write statement to its owner's code).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from importlib import resources
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

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


@contextlib.asynccontextmanager
async def connected(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection on `dsn`, closed on exit."""
    conn = await connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()


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
    "portal": "services/portal/",
    "platform": "shared/db.py",  # logins and grants, no tables
}  # fmt: skip
# What each owner publishes for the others (and the dashboards) to read: its contract. Its other tables are
# its own business; tests/unit/test_layout.py refuses a read of them from another owner's code.
PUBLISHED = {
    # the log itself, how far it is final, and each submission's receipt
    "store": {"events", "store_horizon", "submissions"},
    # people and machines: who may act, and the audit of access
    "auth": {"accounts", "api_tokens", "access_changes"},
    "ingest": {"unit_hierarchy"},  # the registry as it stands (scopes)
    # the read models: progress, the lists and their members, reporting, accountability, review timelines
    "projector": {
        "units", "unit_versions", "unit_mergers", "unit_dissolutions", "tenures", "targets", "figures",
        "confidence_votes", "unit_progress", "unit_progress_history", "unit_standing_history", "known_on_progress",
        "reporting_periods", "reporting_standings", "assessment_groups", "assessment_lists", "assessment_members",
        "assessment_totals", "assessment_standings", "leader_accountability", "leader_scorecards", "review_timeline",
    },
    "alerts": {"alerts", "alert_ages"},  # the alerts as they stand, and their ages
    "relay": {"relay_progress"},  # how far it has published (the catch-up reads it)
    "portal": set(),
    "platform": {"pim_grant_service"},  # the services' grants, re-run after a rebuild swaps its tables in
}  # fmt: skip
# Migrations renamed (to name their owner, two split in two; then the two pairs sharing a number given a
# letter each): a database migrated before a rename records the old names, which stand for the new ones.
RENAMED = {
    "0001_event_store.sql": ("0001b_relay_state.sql", "0001a_store_events.sql"),
    "0001_relay_state.sql": ("0001b_relay_state.sql",),
    "0001_store_events.sql": ("0001a_store_events.sql",),
    "0002_projector.sql": ("0002_projector_read_models.sql",),
    "0003_alerts.sql": ("0003_alerts_table.sql",),
    "0004_ingest.sql": ("0004a_auth_tokens.sql", "0004b_ingest_state.sql"),
    "0004_auth_tokens.sql": ("0004a_auth_tokens.sql",),
    "0004_ingest_state.sql": ("0004b_ingest_state.sql",),
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
    """The owner a migration's file name gives (`0004b_ingest_state.sql` → ingest)."""
    owner = name.split("_")[1] if name.count("_") >= 1 else ""
    if owner not in OWNERS:
        raise ValueError(f"migration {name} names no owner: expected NNNN_<{'|'.join(OWNERS)}>_<what>.sql")
    return owner


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("shared") / "migrations"
    files = sorted((f.name, f.read_text(encoding="utf-8")) for f in folder.iterdir() if f.name.endswith(".sql"))
    return files


class SchemaNotCurrent(RuntimeError):
    """The database lacks migrations this code needs; the operator's `pim init` applies them."""


async def migrate(dsn: str) -> list[str]:
    """Apply the migrations not yet applied, all in one transaction; return their names.

    Run with the operator's login, which owns what the migrations create. Several processes may start at
    once: the table lock makes the second wait, then find nothing left to apply."""
    conn = await asyncpg.connect(dsn)
    try:
        with contextlib.suppress(asyncpg.UniqueViolationError, asyncpg.DuplicateTableError):
            await conn.execute(  # two first runs at once: one creates it, the other finds it made
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
        async with conn.transaction():
            await conn.execute(locks.MIGRATIONS)
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            if renamed := sorted(done & RENAMED.keys()):
                await conn.execute("DELETE FROM schema_migrations WHERE name = ANY($1::text[])", renamed)
                new_names = sorted({new for old in renamed for new in RENAMED[old]} - done)
                await conn.execute("INSERT INTO schema_migrations (name) SELECT unnest($1::text[])", new_names)
                done = (done - set(renamed)) | set(new_names)
            applied = []
            for name, sql in migration_files():
                if name not in done:
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
                    applied.append(name)
            if applied and await conn.fetchval("SELECT to_regproc('pim_grant_service') IS NOT NULL"):
                await conn.execute("SELECT pim_grant_service()")  # tables a later migration made too
            from shared.service_roles import apply_service_grants  # it reads this module's contracts

            await apply_service_grants(conn)  # every run: the contracts in code may have changed since
        return applied
    finally:
        await conn.close()


async def pending_migrations(conn: asyncpg.Connection) -> list[str]:
    """The migrations this code has that the database has not applied (any login may ask)."""
    applied: set[str] = set()
    if await conn.fetchval("SELECT to_regclass('public.schema_migrations') IS NOT NULL"):
        applied = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
    for old, news in RENAMED.items():
        if old in applied:
            applied |= set(news)
    return [name for name, _ in migration_files() if name not in applied]


async def require_current_schema(dsn: str) -> None:
    """Raise SchemaNotCurrent, naming what is missing, unless every migration is applied."""
    conn = await asyncpg.connect(dsn)
    try:
        missing = await pending_migrations(conn)
    finally:
        await conn.close()
    if missing:
        raise SchemaNotCurrent(
            f"the database lacks {len(missing)} migration(s) ({', '.join(missing)}): run `pim init` (or"
            " `pim migrate`) with the operator's login, which owns the schema, then start the services"
        )


async def is_operator_login(conn: asyncpg.Connection) -> bool:
    """Whether this login may change the schema (a superuser, or one that may create in it): the
    operator's, never the one services should run as."""
    return bool(
        await conn.fetchval(
            "SELECT rolsuper OR has_schema_privilege(current_user, 'public', 'CREATE')"
            " FROM pg_roles WHERE rolname = current_user"
        )
    )


SERVICE_ROLE = "pim_service"  # what the services' login may do (0016_platform_service_role.sql)


def with_login(dsn: str, login: str, password: str | None) -> str:
    """`dsn` with another login (and its password): the same server, database and options."""
    parts = urlsplit(dsn)
    netloc = quote(login, safe="") + (f":{quote(password, safe='')}" if password else "") + "@"
    netloc += parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc))


async def ensure_service_login(conn: asyncpg.Connection, login: str, password: str, role: str = SERVICE_ROLE) -> None:
    """A login in `role` — `pim_service` (every service's access, for a process that runs them all) or one
    service's own (`pim_ingest` …: shared/service_roles.py), none of which owns anything: created, its
    password set."""
    name = await conn.fetchval("SELECT quote_ident($1)", login)
    secret = await conn.fetchval("SELECT quote_literal($1)", password)
    async with conn.transaction():
        await conn.execute(locks.MIGRATIONS)  # one process at a time alters the role (cluster-wide)
        if await conn.fetchval("SELECT true FROM pg_roles WHERE rolname = $1", login):
            await conn.execute(f"ALTER ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {secret}")
        else:
            await conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD {secret}")
        if not await conn.fetchval("SELECT pg_has_role($1, $2, 'MEMBER')", login, role):
            await conn.execute(f"GRANT {role} TO {name}")


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
