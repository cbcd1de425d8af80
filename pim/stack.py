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
from collections.abc import AsyncIterator, Collection, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import uvicorn
from faststream.kafka import KafkaBroker

from services.alerts import AlertsRuntime, AlertsService, build_alerts_broker, clock_from, create_alerts_app
from services.ingest import RawIntake, create_app
from services.ingest import build_raw_intake_broker as build_ingest_broker
from services.portal import Services, SingleSignOn, create_portal_app
from services.projector import Projector, create_projector_app
from services.relay import Relay
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
    api_url: str | None = None
    alerts_api_url: str | None = None
    boards_api_url: str | None = None
    portal_url: str | None = None
    ops_url: str | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # Services waiting on a dependency (PostgreSQL, the broker) to come back, with the error they met.
    waiting: dict[str, str] = field(default_factory=dict)

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


@contextlib.asynccontextmanager
async def running_stack(settings: Settings, services: Collection[ServiceName] = ALL_SERVICES) -> AsyncIterator[Stack]:
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

    def start(name: str, work: Coroutine[Any, Any, None]) -> None:
        stack.tasks.append(asyncio.create_task(work, name=name))

    servers: list[uvicorn.Server] = []
    brokers: list[KafkaBroker] = []
    clients: list[httpx.AsyncClient] = []
    try:
        for own_dsn in own_dsns.values():
            if own_dsn not in pools:
                pools[own_dsn] = await when_available("start-up", functools.partial(create_pool, own_dsn))

        def pool_of(service: ServiceName) -> asyncpg.Pool:
            return pools[own_dsns[service]]

        # The loops that talk to PostgreSQL and the broker are supervised: a dependency going away makes
        # them wait and start again, never exit (shared/resilience.py).
        if "relay" in services:
            start("relay", supervise("relay", Relay(settings, pool_of("relay")).run, stack.waiting))
        if "projector" in services:
            projector = Projector.from_settings(settings, pool_of("projector"))
            start("projector", supervise("projector", projector.run, stack.waiting))
            boards_server = http_server(
                create_projector_app(pool_of("projector"), projector.rules), settings.pim_api_host,
                settings.pim_boards_api_port,
            )  # fmt: skip
            servers.append(boards_server)
            start("boards-api", boards_server.serve())
            stack.boards_api_url = await _started(stack, boards_server)
        if "alerts" in services:
            alerts_pool = pool_of("alerts")
            alerts = AlertsService.from_settings(settings, alerts_pool)
            alerts_broker = build_alerts_broker(settings, alerts)
            await alerts_broker.start()
            brokers.append(alerts_broker)
            start("alerts", supervise("alerts", AlertsRuntime(settings, alerts_pool, alerts).run, stack.waiting))
            alerts_server = http_server(
                create_alerts_app(alerts_pool, alerts), settings.pim_api_host, settings.pim_alerts_api_port
            )
            servers.append(alerts_server)
            start("alerts-api", alerts_server.serve())
            stack.alerts_api_url = await _started(stack, alerts_server)
        if "ingest" in services:
            ingest_broker = build_ingest_broker(settings, RawIntake(pool_of("ingest")))
            await ingest_broker.start()
            brokers.append(ingest_broker)
            server = http_server(create_app(pool_of("ingest")), settings.pim_api_host, settings.pim_api_port)
            servers.append(server)
            start("ingest", server.serve())
            stack.api_url = await _started(stack, server)
        ingest_url = settings.pim_ingest_url or stack.api_url
        if "portal" in services and settings.pim_portal_token and ingest_url:
            upstream = httpx.AsyncClient(base_url=ingest_url, timeout=30)
            clients.append(upstream)
            alerts_url = settings.pim_alerts_url or stack.alerts_api_url
            committees = httpx.AsyncClient(base_url=alerts_url, timeout=30) if alerts_url else None
            boards_url = settings.pim_boards_url or stack.boards_api_url
            boards = httpx.AsyncClient(base_url=boards_url, timeout=300) if boards_url else None
            if boards is None:  # every page with a number reads the projector's API: they will say 503
                log.warning("portal: PIM_BOARDS_URL is not set; pages that show numbers answer 503")
            clients += [c for c in (committees, boards) if c is not None]
            services_for_people = Services(upstream, settings.pim_portal_token, committees, boards)
            sso = None
            if settings.pim_oidc_issuer:
                sso = SingleSignOn(settings.pim_oidc_issuer, settings.pim_oidc_client_id,
                                   settings.pim_oidc_client_secret or "",
                                   settings.pim_oidc_state_secret or secrets.token_urlsafe(32))  # fmt: skip
            app = create_portal_app(pool_of("portal"), services_for_people, sso=sso,
                                    public_url=settings.pim_portal_public_url,
                                    link_secret=settings.pim_action_link_secret)  # fmt: skip
            portal = http_server(app, settings.pim_api_host, settings.pim_portal_port)
            servers.append(portal)
            start("portal", portal.serve())
            stack.portal_url = await _started(stack, portal)
        if settings.pim_ops_port is not None:
            ops = http_server(ops_app(_readiness_checks(stack)), settings.pim_api_host, settings.pim_ops_port)
            servers.append(ops)
            start("ops", ops.serve())
            stack.ops_url = await _started(stack, ops)
        yield stack
    finally:
        for server in servers:
            server.should_exit = True
        for task in stack.tasks:
            if task.get_name() not in SERVER_TASKS:
                task.cancel()
        await asyncio.gather(*stack.tasks, return_exceptions=True)
        for broker in brokers:
            await broker.stop()
        for client in clients:
            await client.aclose()
        for each in pools.values():
            await each.close()
