"""The `pim` command."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import time
from collections.abc import Collection
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from pim.bench import run_ingest_bench, save, show
from pim.bench_projector import run_projector_bench
from pim.bench_projector import save as save_projector
from pim.bench_projector import show as show_projector
from pim.cli_alerts import alerts
from pim.cli_docs import docs
from pim.cli_grafana import grafana
from pim.cli_ingest import import_command, tokens
from pim.cli_ops import init_command
from pim.cli_standings import standings_command
from pim.demo import run_demo
from pim.report import progress_table
from pim.stack import ALL_SERVICES, ServiceName, running_stack
from services.projector.rebuild import rebuild
from services.projector.rules_config import progress_rules
from shared.auth import create_token
from shared.db import connect, migrate
from shared.embedded import infrastructure
from shared.observability import JsonFormatter
from shared.operator_db import migrated_pool
from shared.settings import Settings

app = typer.Typer(help="PIM: public-investment and budget-revenue monitor.", no_args_is_help=True)
app.add_typer(tokens, name="tokens")
app.add_typer(alerts, name="alerts")
app.add_typer(grafana, name="grafana")
app.add_typer(docs, name="docs")
bench = typer.Typer(help="Benchmarks, each beside the raw limits measured in the same run.", no_args_is_help=True)
app.add_typer(bench, name="bench")
app.command(name="import")(import_command)
app.command(name="init")(init_command)
app.command(name="standings")(standings_command)
# Wide enough for the demo tables when the output is a pipe or a CI log rather than a terminal.
console = Console(width=None if Console().is_terminal else 150)


def _configure_logging(verbose: bool) -> None:
    """Text lines by default; one JSON object per line with PIM_LOG_FORMAT=json (for log collectors)."""
    handler = logging.StreamHandler()
    if Settings().pim_log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])


@app.command()
def demo(verbose: bool = typer.Option(False, "--verbose", "-v")) -> None:
    """Run the whole pipeline on the bundled sample data, print progress and flagged units, stop."""
    _configure_logging(verbose)
    result = asyncio.run(run_demo(Settings(), console))
    console.print(
        f"Done: {result.events} events through ingest → store → relay → projector → alerts in {result.seconds:.1f} s."
    )


async def _serve(services: Collection[ServiceName]) -> None:
    # Ctrl-C and `docker stop` (SIGTERM) both end in a clean shutdown. uvicorn catches the signal
    # first when it serves, and raises it again once it has stopped, which lands here.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    configured = Settings()
    async with infrastructure(configured) as settings, running_stack(settings, services) as stack:
        console.print(f"PIM running: {', '.join(services)}")
        console.print(f"  database: {settings.database_url}")
        console.print(f"  kafka:    {settings.kafka_bootstrap_servers}")
        if stack.api_url:
            console.print(f"  ingest API: {stack.api_url}  (OpenAPI docs at {stack.api_url}/docs)")
            if configured.database_url is None:  # a fresh embedded database has no tokens yet
                async with stack.pool.acquire() as conn:
                    token = await create_token(conn, "admin (pim up)", "admin")
                console.print(f"  admin token for this embedded database (shown once): {token}")
        if stack.ops_url:
            console.print(f"  health, readiness, metrics: {stack.ops_url}  (/health, /ready, /metrics)")
        if stack.alerts_api_url:
            console.print(f"  alerts API: {stack.alerts_api_url}  (committees; OpenAPI docs at /docs)")
        console.print("Ctrl-C stops.")
        while not stop.is_set():
            stack.raise_if_failed()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1)
    console.print("Stopped.")


def _run_services(services: Collection[ServiceName], verbose: bool) -> None:
    _configure_logging(verbose)
    asyncio.run(_serve(services))


@app.command()
def up(verbose: bool = typer.Option(False, "--verbose", "-v")) -> None:
    """Start every service (embedded PostgreSQL and broker unless configured) and serve until Ctrl-C."""
    _run_services(ALL_SERVICES, verbose)


@app.command()
def ingest(verbose: bool = typer.Option(False, "--verbose", "-v")) -> None:
    """Run only the ingest HTTP API."""
    _run_services(["ingest"], verbose)


@app.command()
def relay(verbose: bool = typer.Option(False, "--verbose", "-v")) -> None:
    """Run only the relay (event store → ledger topic)."""
    _run_services(["relay"], verbose)


projector = typer.Typer(help="The projector: ledger topic → read models.", invoke_without_command=True)
app.add_typer(projector, name="projector")


@projector.callback()
def projector_run(ctx: typer.Context, verbose: bool = typer.Option(False, "--verbose", "-v")) -> None:
    """Run only the projector (ledger topic → read models); `pim projector rebuild` rebuilds them."""
    if ctx.invoked_subcommand is None:
        _run_services(["projector"], verbose)


@projector.command("rebuild")
def projector_rebuild() -> None:
    """Rebuild every read model from the event store into fresh tables and swap them in atomically."""
    asyncio.run(_rebuild())


async def _rebuild() -> None:
    async with migrated_pool(max_size=2) as pool:
        async with pool.acquire() as conn:
            total = await conn.fetchval("SELECT count(*) FROM events")
        started = time.perf_counter()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Replaying the event store", total=total)
            replayed = await rebuild(pool, progress_rules(Settings()), lambda n: progress.advance(task, n))
        console.print(f"Rebuilt the read models from {replayed:,} events in {time.perf_counter() - started:.1f} s.")


@alerts.callback()
def alerts_run(ctx: typer.Context, verbose: bool = typer.Option(False, "--verbose", "-v")) -> None:
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


@bench.command("ingest")
def bench_ingest(
    rows: Annotated[int, typer.Option(help="figure rows in the bulk import")] = 1_000_000,
    rate: Annotated[int, typer.Option(help="single-report requests per second for the latency run")] = 200,
    seconds: Annotated[int, typer.Option(help="length of the latency run")] = 10,
    output: Annotated[Path, typer.Option(help="where to write the JSON result")] = Path("bench-results/ingest.json"),
) -> None:
    """Bulk CSV import into the event store vs raw COPY; HTTP latency p50/p99 at a fixed rate."""
    _configure_logging(False)
    result = asyncio.run(run_ingest_bench(Settings(), rows, rate, seconds, console))
    show(result, console)
    save(result, output)
    console.print(f"Written to {output}")


@bench.command("projector")
def bench_projector(
    events: Annotated[int, typer.Option(help="events in the store and on the ledger")] = 2_000_000,
    output: Annotated[Path, typer.Option(help="where to write the JSON result")] = Path("bench-results/projector.json"),
) -> None:
    """Live consumption from Kafka and rebuild from the store, beside raw getmany and one SQL statement."""
    _configure_logging(False)
    result = asyncio.run(run_projector_bench(Settings(), events, console))
    show_projector(result, console)
    save_projector(result, output)
    console.print(f"Written to {output}")


@app.command("progress")
def progress_command(
    as_known_on: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="show what was known on this date (YYYY-MM-DD)")
    ] = None,
) -> None:
    """Print each unit's progress from DATABASE_URL, as it stands or as it was known on a past date."""
    settings = Settings()
    if settings.database_url is None:
        raise typer.BadParameter("set DATABASE_URL to the PIM database")

    async def show() -> None:
        conn = await connect(settings.database_url or "")
        try:
            known_on = as_known_on.date() if as_known_on else None
            console.print(await progress_table(conn, known_on, progress_rules(settings)))
        finally:
            await conn.close()

    asyncio.run(show())
