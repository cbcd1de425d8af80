"""The `pim` command: mounts each service's commands, the wings' (demo, bench, docs, grafana, boards)
and the operator's, and runs the services (`pim up`, or one of them)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Collection
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pim.bench.cli import bench
from pim.boards.cli import progress_command, report, reporting_command, standings_command
from pim.cli_ops import init_command
from pim.command_run import run_command
from pim.demo.accounts import embedded_portal_token, first_admin_account
from pim.demo.run import SAMPLE_MEETING_DATE, DemoResult, run_demo
from pim.demo.sample_loader import load_sample
from pim.docs.cli import docs
from pim.embedded import infrastructure
from pim.grafana.cli import grafana
from pim.stack import ALL_SERVICES, ServiceName, Stack, running_stack
from services.alerts import alerts_commands
from services.ingest import import_command, ingest_commands, tokens_commands
from services.portal import accounts_commands
from services.projector import projector_commands
from shared.auth import create_token, list_tokens, revoke_token
from shared.db import connected, migrate, redacted
from shared.observability import configure_logging
from shared.settings import Settings

app = typer.Typer(help="PIM: public-investment and budget-revenue monitor.", no_args_is_help=True)
for name, commands in (
    ("ingest", ingest_commands), ("projector", projector_commands), ("alerts", alerts_commands),
    ("tokens", tokens_commands), ("accounts", accounts_commands), ("grafana", grafana), ("docs", docs),
    ("bench", bench), ("report", report),
):  # fmt: skip
    app.add_typer(commands, name=name)
app.command(name="import")(import_command)
app.command(name="init")(init_command)
app.command(name="standings")(standings_command)
app.command(name="reporting")(reporting_command)
app.command(name="progress")(progress_command)
# Wide enough for the demo tables when the output is a pipe or a CI log rather than a terminal.
console = Console(width=None if Console().is_terminal else 150)
Verbose = typer.Option(False, "--verbose", "-v")
DEMO_BOARD_PACK = Path("board-pack") / f"pim-board-pack-{SAMPLE_MEETING_DATE:%Y-%m-%d}.pdf"


def _configure_logging(verbose: bool, work: bool = False) -> None:
    """`work`: the services' lines of work at INFO (a service's log); the demo and one-off commands tell
    their own story instead."""
    configure_logging(verbose, Settings().pim_log_format, work)


@app.command()
def demo(
    verbose: bool = Verbose,
    board_pack: Annotated[
        Path, typer.Option(help="where the meeting's board pack is written (PDF, and HTML beside it)")
    ] = DEMO_BOARD_PACK,
    serve: Annotated[bool, typer.Option(help="keep the web pages up after the demo, until Ctrl-C")] = False,
) -> None:
    """Run the whole pipeline on the bundled sample data, print progress and flagged units, write the
    meeting's board pack, stop; with --serve, keep the web pages up with an account per role to try."""
    _configure_logging(verbose)

    async def demo_run() -> DemoResult:
        stop = _stop_on_signals() if serve else None
        return await run_demo(Settings(), console, board_pack.resolve(), stop)

    result = run_command(demo_run(), console)
    console.print(
        f"Done: {result.events} events through ingest → store → relay → projector → alerts in {result.seconds:.1f} s."
    )


def _stop_on_signals() -> asyncio.Event:
    """Set by Ctrl-C or `docker stop` (SIGTERM): both end in a clean shutdown."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    return stop


async def _serve(services: Collection[ServiceName], sample: bool = False) -> None:
    # Ctrl-C and `docker stop` (SIGTERM) both end in a clean shutdown. uvicorn catches the signal
    # first when it serves, and raises it again once it has stopped, which lands here.
    stop = _stop_on_signals()
    configured = Settings()
    async with contextlib.AsyncExitStack() as running:
        settings = await running.enter_async_context(infrastructure(configured))
        embedded = configured.database_url is None
        if embedded and "portal" in services and settings.pim_portal_token is None:
            await migrate(settings.database_url or "")  # the tokens' table first
            async with connected(settings.database_url or "") as conn:  # the operator's login makes tokens
                settings = settings.model_copy(update={"pim_portal_token": await embedded_portal_token(conn)})
        stack = await running.enter_async_context(running_stack(settings, services))
        await _announce(configured, settings, services, stack)
        if sample:
            await _load_sample(settings, stack)
        console.print("Ctrl-C stops.")
        while not stop.is_set():
            stack.raise_if_failed()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1)
    console.print("Stopped.")


async def _load_sample(settings: Settings, stack: Stack) -> None:
    """The bundled sample through this stack's ingest API, under a token made for it and revoked after."""
    if stack.api_url is None:
        raise typer.BadParameter("--sample needs the ingest service")
    async with connected(settings.database_url or "") as conn:
        token = await create_token(conn, "sample loader (pim up --sample)", "admin")
    try:
        events = await load_sample(stack.api_url, token)
    finally:
        async with connected(settings.database_url or "") as conn:
            await revoke_token(conn, token.split("_")[1])
    console.print(f"  sample loaded: {events} events through the ingest API (docs/sample.md says what it holds)")


def _write_operator_env(settings: Settings) -> Path:
    """The embedded servers' addresses, as the owner's commands (`pim tokens`, `pim accounts`, `pim projector
    rebuild` …) need them; only the operator may read the file (the DSN is the owner's login)."""
    assert settings.pim_data_dir is not None
    path = settings.pim_data_dir / "operator.env"
    lines = [f"DATABASE_URL={settings.database_url}", f"KAFKA_BOOTSTRAP_SERVERS={settings.kafka_bootstrap_servers}",
             f"PIM_TOPIC_PREFIX={settings.pim_topic_prefix}"]  # fmt: skip
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def _announce(configured: Settings, settings: Settings, services: Collection[ServiceName], stack: Stack) -> None:
    """What runs where; on the embedded default, the first admin token and account (shown once), and how to
    act as the owner."""
    console.print(f"PIM running: {', '.join(services)}")
    console.print(f"  database: {redacted(stack.database_url)}")
    console.print(f"  each service as its own login: {', '.join(f'{s} {login}' for s, login in stack.logins.items())}")
    console.print(f"  kafka:    {settings.kafka_bootstrap_servers}")
    if configured.database_url is None:
        operator = _write_operator_env(settings)
        console.print(f"  as the owner, in another shell: set -a; . {operator}; set +a  (then `pim tokens create …`)")
    if stack.api_url:
        console.print(f"  ingest API: {stack.api_url}  (OpenAPI docs at {stack.api_url}/docs)")
        if configured.database_url is None:  # the embedded database: its first start makes one admin token
            async with connected(settings.database_url or "") as conn:  # the operator's login
                admins = [t for t in await list_tokens(conn) if t.role == "admin" and t.revoked_at is None]
                token = None if admins else await create_token(conn, "admin (pim up)", "admin")
            if token is not None:
                console.print(f"  admin token for this embedded database (shown once): {token}")
            else:
                console.print(f"  admin tokens: {len(admins)} (`pim tokens list`; `pim tokens create` makes another)")
    if stack.ops_url:
        console.print(f"  health, readiness, metrics: {stack.ops_url}  (/health, /ready, /metrics)")
    if stack.alerts_api_url:
        console.print(f"  alerts API: {stack.alerts_api_url}  (committees; OpenAPI docs at /docs)")
    if stack.boards_api_url:
        console.print(f"  boards API: {stack.boards_api_url}  (the projector's: /v1/standings, /v1/board-pack, …;"
                      " docs at /docs)")  # fmt: skip
    if stack.portal_url:
        console.print(f"  web pages / trang web: {stack.portal_url}")
        if configured.database_url is None:
            async with connected(settings.database_url or "") as conn:
                first = await first_admin_account(conn)
            if first is not None:
                console.print(f"  admin account (shown once): {first.email} / {first.password}")


def _run_services(services: Collection[ServiceName], verbose: bool, sample: bool = False) -> None:
    _configure_logging(verbose, work=True)
    run_command(_serve(services, sample), console)


@app.command()
def up(
    verbose: bool = Verbose,
    sample: Annotated[bool, typer.Option(help="load the bundled sample into the stack it serves")] = False,
    service: Annotated[
        list[str] | None,
        typer.Option(help=f"run only this service (repeat for several; one of {', '.join(ALL_SERVICES)})"),
    ] = None,
) -> None:
    """Start every service (embedded PostgreSQL and broker unless configured) and serve until Ctrl-C; with
    --service, only those named, in this one process."""
    unknown = sorted(set(service or ()) - set(ALL_SERVICES))
    if unknown:
        raise typer.BadParameter(f"no such service: {', '.join(unknown)} (one of {', '.join(ALL_SERVICES)})")
    chosen = [name for name in ALL_SERVICES if not service or name in service]
    _run_services(chosen, verbose, sample)


@app.command()
def relay(verbose: bool = Verbose) -> None:
    """Run only the relay (event store → ledger topic)."""
    _run_services(["relay"], verbose)


@app.command()
def portal(verbose: bool = Verbose) -> None:
    """Run only the web pages, calling the services at PIM_INGEST_URL (and PIM_ALERTS_URL, PIM_BOARDS_URL)
    with PIM_PORTAL_TOKEN; their sessions live in PostgreSQL, so any number may serve one address."""
    settings = Settings()
    if not settings.pim_ingest_url or not settings.pim_portal_token:
        raise typer.BadParameter("set PIM_INGEST_URL and PIM_PORTAL_TOKEN: the pages act through the services' APIs")
    _run_services(["portal"], verbose)


# `pim ingest`, `pim projector` and `pim alerts` run that service alone; their subcommands are the service's.
@ingest_commands.callback(invoke_without_command=True)
def ingest_run(ctx: typer.Context, verbose: bool = Verbose) -> None:
    """Run only the ingest HTTP API; `pim ingest rebuild` rebuilds its state from the store."""
    if ctx.invoked_subcommand is None:
        _run_services(["ingest"], verbose)


@projector_commands.callback(invoke_without_command=True)
def projector_run(ctx: typer.Context, verbose: bool = Verbose) -> None:
    """Run only the projector (ledger topic → read models); `pim projector rebuild` rebuilds them."""
    if ctx.invoked_subcommand is None:
        _run_services(["projector"], verbose)


@alerts_commands.callback(invoke_without_command=True)
def alerts_run(ctx: typer.Context, verbose: bool = Verbose) -> None:
    """Run only the alerts service (progress → alerts → deliveries; committees' API); subcommands below."""
    if ctx.invoked_subcommand is None:
        _run_services(["alerts"], verbose)


@app.command(name="migrate")
def migrate_command() -> None:
    """Apply pending schema migrations to DATABASE_URL."""
    settings = Settings()
    if settings.database_url is None:
        raise typer.BadParameter("set DATABASE_URL to the database to migrate")
    applied = asyncio.run(migrate(settings.database_url))
    console.print(f"Applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
