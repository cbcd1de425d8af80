"""`pim init`: what a deployment runs once before the services start (docker-compose's `init` service)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.alerts import Operators, alertmanager_text
from shared.db import create_pool, ensure_reader_login, ensure_service_login, migrate
from shared.service_roles import SERVICES, role_of, service_login
from shared.settings import Settings
from shared.topics import ensure_topics

console = Console()
READER_PASSWORD_ENV = "PIM_READER_PASSWORD"


def init_command(
    reader_login: Annotated[str, typer.Option(help="the read-only login for Grafana")] = "grafana",
    alertmanager_config: Annotated[
        Path | None, typer.Option(help="also write Alertmanager's configuration here")
    ] = None,
    webhook_url: Annotated[str | None, typer.Option(help="committees' webhook in that configuration")] = None,
    smtp_smarthost: Annotated[
        str | None, typer.Option(help="host:port Alertmanager e-mails committees and operators through")
    ] = None,
    operator_webhook_url: Annotated[str | None, typer.Option(help="PIM's own health alerts post here")] = None,
    operator_email: Annotated[list[str] | None, typer.Option(help="and are e-mailed here (repeat it)")] = None,
) -> None:
    """As the owner (DATABASE_URL): migrate the database, create the topics, make the services' login
    (PIM_SERVICE_LOGIN, when PIM_SERVICE_PASSWORD is set) and the read-only login (when PIM_READER_PASSWORD
    is set), and write Alertmanager's configuration; safe to run again."""
    settings = Settings()
    if settings.database_url is None or settings.kafka_bootstrap_servers is None:
        raise typer.BadParameter("set DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS")
    password = os.environ.get(READER_PASSWORD_ENV)

    async def run() -> None:
        assert settings.database_url is not None
        applied = await migrate(settings.database_url)
        console.print(f"Migrations applied: {len(applied)}")
        await ensure_topics(settings)
        console.print("Topics ready")
        pool = await create_pool(settings.database_url, max_size=2)
        try:
            if settings.pim_service_password:
                base, service_password = settings.pim_service_login, settings.pim_service_password
                async with pool.acquire() as conn:
                    await ensure_service_login(conn, base, service_password)
                    for service in SERVICES:
                        await ensure_service_login(
                            conn, service_login(base, service), service_password, role_of(service)
                        )
                console.print(f"Services' login {base} ready (role pim_service, owns nothing), and one per service:"
                              f" {', '.join(service_login(base, service) for service in SERVICES)}")  # fmt: skip
            if password:
                async with pool.acquire() as conn:
                    await ensure_reader_login(conn, reader_login, password)
                console.print(f"Read-only login {reader_login} ready (role pim_reader)")
            if alertmanager_config is not None:
                operators = Operators(operator_webhook_url, tuple(operator_email or ()))
                text = await alertmanager_text(pool, settings, webhook_url, smtp_smarthost, operators=operators)
                alertmanager_config.parent.mkdir(parents=True, exist_ok=True)
                alertmanager_config.write_text(text, encoding="utf-8")
                console.print(f"Wrote {alertmanager_config}")
        finally:
            await pool.close()

    asyncio.run(run())
