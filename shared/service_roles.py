"""Each service's role: what its login may read and write, computed from who owns each table.

A service reads and writes its own tables; reads every owner's published relations (`PUBLISHED`, its
contract); and uses the shared owners' tables its code reaches through `shared/` as `USES` says (the
store's appends, the accounts the admin pages change). Nothing else: the alerts' login cannot lock the
projector's rows, the ingest's cannot read the alerts' outbox. `apply_service_grants` runs after every
migration run and after a rebuild swaps fresh tables in (they carry no grants).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Literal

import asyncpg

from shared.db import PUBLISHED, migration_files, migration_owner

SERVICES = ("ingest", "relay", "projector", "alerts", "portal")
Access = Literal["read", "write"]
# The shared owners' tables a service uses beyond their published relations.
USES: Mapping[str, Mapping[str, Access]] = {
    "ingest": {"store": "write"},  # appends submissions (and their locks, reservations, receipts)
    "relay": {"store": "read"},  # reads the log up to the store's horizon
    "projector": {"store": "read"},  # its catch-up reads the log; the horizon
    "alerts": {"store": "write"},  # appends the review loop's events
    "portal": {"auth": "write"},  # the admin pages make and change accounts, and record it
}
APPEND_ONLY = {"events", "submissions"}  # inserted, never changed (their triggers refuse it even to the owner)
READ_ONLY = {"api_tokens"}  # tokens are the operator's to make and revoke
SCHEMA_RECORD = "schema_migrations"  # read by every service at start: is the schema current?
CREATED = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_]+)", re.I)


def role_of(service: str) -> str:
    return f"pim_{service}"


def relations_by_owner() -> dict[str, set[str]]:
    """Each owner's tables and views, as its migrations create them."""
    owned: dict[str, set[str]] = defaultdict(set)
    for name, sql in migration_files():
        owned[migration_owner(name)] |= {relation.lower() for relation in CREATED.findall(sql)}
    return dict(owned)


def service_grants(owned: Mapping[str, set[str]], present: Mapping[str, str]) -> list[str]:
    """The statements that give each service's role exactly its access. `present`: the schema's relations
    and their kind ('r' table, 'v' view, 'p' partitioned); a view is only read."""
    published = set().union(*PUBLISHED.values())
    statements = []
    for service in SERVICES:
        role = role_of(service)
        writable = set(owned.get(service, ()))
        readable = set(published)
        for owner, access in USES.get(service, {}).items():
            (writable if access == "write" else readable).update(owned.get(owner, ()))
        statements += [
            f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"GRANT SELECT ON {SCHEMA_RECORD} TO {role}",
        ]
        for relation in sorted((writable | readable) & present.keys()):
            if relation not in writable or relation in READ_ONLY or present[relation] == "v":
                privileges = "SELECT"
            elif relation in APPEND_ONLY:
                privileges = "SELECT, INSERT"
            else:
                privileges = "SELECT, INSERT, UPDATE, DELETE"
            statements.append(f"GRANT {privileges} ON {relation} TO {role}")
        statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    return statements


# Roles are the cluster's, not the database's: made here at every migration run (a dump restored into a new
# server holds the grants to them, not them), each once even when two databases migrate at the same moment.
_ENSURE_ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- another database's migration made it at the same moment
END
$$"""
GROUP_ROLES = ("pim_service", "pim_reader", *(role_of(service) for service in SERVICES))


async def apply_service_grants(conn: asyncpg.Connection) -> None:
    """Run by the schema's owner (migrations, rebuilds), in its transaction."""
    for role in GROUP_ROLES:
        await conn.execute(_ENSURE_ROLE.format(role=role))
    for service in SERVICES:
        if not await conn.fetchval("SELECT pg_has_role('pim_service', $1, 'MEMBER')", role_of(service)):
            await conn.execute(f"GRANT {role_of(service)} TO pim_service")
    present = {
        r["relname"]: r["relkind"]
        for r in await conn.fetch(
            "SELECT relname, relkind::text FROM pg_class"
            " WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'v', 'p', 'm')"
        )
    }
    # One round trip: every migration run (each `pim up` start with the owner's login) and rebuild runs them.
    await conn.execute(";\n".join(service_grants(relations_by_owner(), present)))


def service_login(base: str, service: str) -> str:
    """A service's own login, beside the login of processes that run them all (`base`, `pim_app`)."""
    return f"{base}_{service}"
