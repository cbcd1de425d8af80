"""Composition root: wires the services to a database and a broker and runs them as asyncio tasks.

`pim up` and `pim demo` run all of them in one process; `pim ingest`, `pim relay`, `pim projector` and
`pim alerts` run one each, for deployments that scale them separately.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import uvicorn

from services.alerts import bootstrap_alerts, clock_from
from services.ingest import bootstrap_ingest
from services.portal import bootstrap_portal
from services.projector import bootstrap_projector
from services.relay import bootstrap_relay
from shared.db import (
    connected,
    create_pool,
    ensure_service_login,
    is_operator_login,
    migrate,
    require_current_schema,
    with_login,
)
from shared.http_server import http_server
from shared.observability import Check, ops_app
from shared.resilience import supervise, when_available
from shared.service_parts import Api, ServiceParts
from shared.service_roles import role_of, service_login
from shared.settings import Settings
from shared.topics import ensure_topics

log = logging.getLogger(__name__)

ServiceName = Literal["ingest", "relay", "projector", "alerts", "portal"]
ALL_SERVICES: tuple[ServiceName, ...] = ("ingest", "relay", "projector", "alerts", "portal")


@dataclass
class Stack:
    settings: Settings
    pool: asyncpg.Pool
    database_url: str  # the services' login (owns nothing), not the operator's
    logins: dict[str, str] = field(default_factory=dict)  # each service's own login
    served: dict[str, str] = field(default_factory=dict)  # the HTTP APIs' addresses, by name
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Services waiting on a dependency (PostgreSQL, the broker) to come back, with the error they met.
    waiting: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str | None:
        return self.served.get("ingest")

    @property
    def alerts_api_url(self) -> str | None:
        return self.served.get("alerts-api")

    @property
    def boards_api_url(self) -> str | None:
        return self.served.get("boards-api")

    @property
    def portal_url(self) -> str | None:
        return self.served.get("portal")

    @property
    def ops_url(self) -> str | None:
        return self.served.get("ops")

    @property
    def alerts_today(self) -> dt.date:
        """The date the alerts service evaluates as of."""
        return clock_from(self.settings)()

    def raise_if_failed(self) -> None:
        """Surface a service that crashed. (One that returned was asked to stop: uvicorn returns on
        Ctrl-C, then hands the signal on to asyncio, which cancels everything.)"""
        for task in self.tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError(f"service {task.get_name()} failed") from task.exception()


def _database_url(settings: Settings) -> str:
    if settings.database_url is None:
        raise RuntimeError("DATABASE_URL is not set and no embedded PostgreSQL was started")
    return settings.database_url


def _derived_password(operator_dsn: str) -> str:
    # The same for every process given the same operator login, whichever database: roles are the
    # cluster's, so processes on two databases of one server must not reset each other's password.
    parts = urlsplit(operator_dsn)
    return hashlib.sha256(b"pim-service\0" + urlunsplit(parts._replace(path="")).encode()).hexdigest()


async def service_database_url(settings: Settings) -> str:
    """The URL a process running several services connects with (`pim_service`: every service's access)."""
    union, _ = await service_database_urls(settings, ())
    return union


async def service_database_urls(settings: Settings, services: Collection[str]) -> tuple[str, dict[str, str]]:
    """The URLs the services connect with, never a login that owns the schema: `pim_service`'s (every
    service's access: the stack's own checks, the demo's wings) and each service's own (its role: its
    tables, the others' published views). Given the operator's login (the embedded database's, or a
    configured one that may create in the schema), apply pending migrations, make the logins and use them;
    given any other, use it for everything once the schema is current (`pim init` made it so)."""
    dsn = _database_url(settings)
    async with connected(dsn) as conn:
        operator = await is_operator_login(conn)
    if not operator:
        await require_current_schema(dsn)
        return dsn, dict.fromkeys(services, dsn)
    await migrate(dsn)
    password = settings.pim_service_password or _derived_password(dsn)
    base = settings.pim_service_login
    async with connected(dsn) as conn:
        await ensure_service_login(conn, base, password)
        for service in services:
            await ensure_service_login(conn, service_login(base, service), password, role_of(service))
    own = {service: with_login(dsn, service_login(base, service), password) for service in services}
    return with_login(dsn, base, password), own


SERVER_TASKS = ("ingest", "alerts-api", "boards-api", "portal", "ops")  # uvicorn servers: asked to exit, not cancelled


def _readiness_checks(stack: Stack) -> dict[str, Check]:
    async def database() -> None:
        async with stack.pool.acquire() as conn:
            await conn.fetchval("SELECT 1")

    async def services() -> None:
        stack.raise_if_failed()
        if stack.waiting:
            raise RuntimeError("; ".join(f"{name} waiting: {error}" for name, error in sorted(stack.waiting.items())))

    return {"database": database, "services": services}


async def _started(stack: Stack, server: uvicorn.Server) -> str:
    while not server.started:
        stack.raise_if_failed()
        await asyncio.sleep(0.01)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    return f"http://{host}:{port}"


# The order services start in: the portal last, so it can call the APIs this process serves.
BOOTSTRAP_ORDER: tuple[ServiceName, ...] = ("relay", "projector", "alerts", "ingest", "portal")


def _bootstrap(name: ServiceName, settings: Settings, pool: asyncpg.Pool, served: dict[str, str]) -> ServiceParts:
    match name:
        case "relay":
            return bootstrap_relay(settings, pool)
        case "projector":
            return bootstrap_projector(settings, pool)
        case "alerts":
            return bootstrap_alerts(settings, pool)
        case "ingest":
            return bootstrap_ingest(settings, pool)
        case "portal":
            return bootstrap_portal(settings, pool, served)


@contextlib.asynccontextmanager
async def running_stack(settings: Settings, services: Collection[ServiceName] = ALL_SERVICES) -> AsyncIterator[Stack]:
    """Each service wired by its own bootstrap on its own login's pool, then started the same way: its
    brokers' subscribers, its loops (supervised: a dependency going away makes them wait and start again,
    never exit, shared/resilience.py), its APIs."""
    # Started while PostgreSQL or the broker is away (a restart, a host coming up): wait for them.
    if settings.pim_action_link_secret is None and {"alerts", "portal"} <= set(services):
        # One process signs the e-mails' links and reads them: a secret of this run's (a link from an earlier
        # run then opens nothing; set PIM_ACTION_LINK_SECRET to keep them across restarts).
        settings = settings.model_copy(update={"pim_action_link_secret": secrets.token_urlsafe(32)})
    dsn, own_dsns = await when_available("start-up", lambda: service_database_urls(settings, services))
    await when_available("start-up", lambda: ensure_topics(settings))
    pool = await when_available("start-up", lambda: create_pool(dsn))
    stack = Stack(settings, pool, database_url=dsn)
    stack.logins = {service: urlsplit(own).username or "" for service, own in own_dsns.items()}
    pools = {dsn: pool}  # one per login: each service's own, when it has one
    servers: list[uvicorn.Server] = []
    wired: list[ServiceParts] = []

    async def serve(name: str, api: Api) -> None:
        server = http_server(api.app, settings.pim_api_host, api.port)
        servers.append(server)
        stack.tasks.append(asyncio.create_task(server.serve(), name=name))
        stack.served[name] = await _started(stack, server)

    try:
        for name in (name for name in BOOTSTRAP_ORDER if name in services):
            own = own_dsns[name]
            if own not in pools:
                pools[own] = await when_available("start-up", functools.partial(create_pool, own))
            parts = _bootstrap(name, settings, pools[own], stack.served)
            wired.append(parts)
            for broker in parts.brokers:
                await broker.start()
            for loop_name, loop in parts.loops.items():
                stack.tasks.append(asyncio.create_task(supervise(loop_name, loop, stack.waiting), name=loop_name))
            for api_name, api in parts.apis.items():
                await serve(api_name, api)
        if settings.pim_ops_port is not None:
            await serve("ops", Api(ops_app(_readiness_checks(stack)), settings.pim_ops_port))
        yield stack
    finally:
        for server in servers:
            server.should_exit = True
        for task in stack.tasks:
            if task.get_name() not in SERVER_TASKS:
                task.cancel()
        await asyncio.gather(*stack.tasks, return_exceptions=True)
        for parts in wired:
            for broker in parts.brokers:
                await broker.stop()
            for close in parts.closers:
                await close()
        for each in pools.values():
            await each.close()
