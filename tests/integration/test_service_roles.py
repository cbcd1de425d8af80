"""Each service connects as a login of its own, which may use its own tables, read what the others publish,
and use the shared owners' tables its code needs (shared/service_roles.py) — and nothing else: the alerts'
login cannot lock the projector's batches (a probe once stalled the projector so), the ingest's cannot read
the alerts' outbox, the projector's cannot append to the log."""

from __future__ import annotations

import asyncpg
import pytest

from pim.stack import running_stack, service_database_urls
from shared.db import connected
from shared.service_roles import SERVICES, service_login
from shared.settings import Settings

pytestmark = [pytest.mark.postgres]

APPEND = (
    "INSERT INTO events (event_id, stream_id, event_type, schema_version, payload, submitted_by, position)"
    " VALUES (gen_random_uuid(), 'x', 'x', 1, '{}', 'x', 9999)"
)
# (service, statement, allowed): each service's own work, and its neighbours' it must not do.
CASES = [
    ("projector", "SELECT 1 FROM projector_locks WHERE name = 'batches' FOR UPDATE", True),
    ("alerts", "SELECT 1 FROM projector_locks WHERE name = 'batches' FOR UPDATE", False),
    ("ingest", "SELECT 1 FROM projector_locks WHERE name = 'batches' FOR SHARE", False),
    ("alerts", "SELECT count(*) FROM alert_outbox", True),
    ("ingest", "SELECT count(*) FROM alert_outbox", False),
    ("portal", "SELECT count(*) FROM alert_outbox", False),
    ("ingest", "SELECT 1 FROM store_locks WHERE name = 'append' FOR UPDATE", True),
    ("alerts", "SELECT 1 FROM store_locks WHERE name = 'append' FOR UPDATE", True),  # the review's events
    ("projector", "SELECT 1 FROM store_locks WHERE name = 'append' FOR UPDATE", False),
    ("relay", "SELECT 1 FROM store_locks WHERE name = 'append' FOR UPDATE", False),
    ("projector", APPEND, False),
    ("relay", APPEND, False),
    ("portal", APPEND, False),
    ("relay", "SELECT count(*) FROM events", True),  # published by the store
    ("relay", "UPDATE relay_state SET position = position", True),
    ("projector", "UPDATE relay_state SET position = position", False),
    ("projector", "SELECT count(*) FROM relay_progress", True),  # published by the relay
    ("projector", "SELECT count(*) FROM relay_state", False),
    ("relay", "SELECT count(*) FROM ingest_figures", False),
    ("alerts", "SELECT count(*) FROM ingest_figures", False),
    ("alerts", "SELECT count(*) FROM unit_progress", True),  # published by the projector
    ("alerts", "SELECT count(*) FROM assessment_rows", False),  # the projector's own business
    ("alerts", "UPDATE units SET name = name", False),
    ("portal", "UPDATE accounts SET name = name", True),  # the admin pages
    ("alerts", "UPDATE accounts SET name = name", False),
    ("ingest", "UPDATE portal_sessions SET account_id = account_id", False),
    ("ingest", "UPDATE api_tokens SET revoked_at = now()", False),  # the operator's, for every service
    ("portal", "SELECT count(*) FROM api_tokens", True),  # every API checks tokens
]


@pytest.mark.parametrize(("service", "statement", "allowed"), CASES)
async def test_each_service_login_may_do_its_own_work_and_not_its_neighbours(
    settings: Settings, service: str, statement: str, allowed: bool
) -> None:
    _, own = await service_database_urls(settings, SERVICES)
    async with connected(own[service]) as conn, conn.transaction():
        assert await conn.fetchval("SELECT current_user") == service_login(settings.pim_service_login, service)
        if allowed:
            await conn.execute(statement)
        else:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)


async def test_pim_up_connects_each_service_as_its_own_login(settings: Settings) -> None:
    async with running_stack(settings, ["relay", "projector"]) as stack, stack.pool.acquire() as conn:
        users = {
            r["usename"]
            for r in await conn.fetch(
                "SELECT usename FROM pg_stat_activity WHERE datname = current_database() AND usename IS NOT NULL"
            )
        }
    base = settings.pim_service_login
    assert stack.logins == {"relay": service_login(base, "relay"), "projector": service_login(base, "projector")}
    assert {service_login(base, "relay"), service_login(base, "projector")} <= users
    assert service_login(base, "alerts") not in users
