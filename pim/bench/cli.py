"""`pim bench …`: each benchmark beside the raw limits measured in the same run."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from pim.bench import ingest, national, projector
from pim.embedded import EmbeddedServerDied
from shared.observability import configure_logging
from shared.settings import Settings

T = TypeVar("T")
STOPPED_BY_SIGTERM = 128 + signal.SIGTERM


def _run(work: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, with SIGTERM (`kill`, a CI job's time-out) taken as Ctrl-C is: the bench is cancelled and
    its clean-ups run, so the embedded PostgreSQL and broker it started are stopped, not left running."""

    async def cancelled_by_sigterm() -> T:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await work

    try:
        return asyncio.run(cancelled_by_sigterm())
    except asyncio.CancelledError:
        console.print("Stopped (SIGTERM); the embedded servers are stopped.")
        raise typer.Exit(STOPPED_BY_SIGTERM) from None
    except EmbeddedServerDied as died:  # what was measured until then is printed above
        console.print(f"[red]{died}[/red]")
        raise typer.Exit(1) from None


bench = typer.Typer(help="Benchmarks, each beside the raw limits measured in the same run.", no_args_is_help=True)
console = Console(width=None if Console().is_terminal else 150)


@bench.command("ingest")
def bench_ingest(
    rows: Annotated[int, typer.Option(help="figure rows in the bulk import")] = 1_000_000,
    rate: Annotated[int, typer.Option(help="single-report requests per second for the latency run")] = 200,
    seconds: Annotated[int, typer.Option(help="length of the latency run")] = 10,
    output: Annotated[Path, typer.Option(help="where to write the JSON result")] = Path("bench-results/ingest.json"),
) -> None:
    """Bulk CSV import into the event store vs raw COPY; HTTP latency p50/p99 at a fixed rate."""
    configure_logging(False)
    result = _run(ingest.run_ingest_bench(Settings(), rows, rate, seconds, console))
    ingest.show(result, console)
    ingest.save(result, output)
    console.print(f"Written to {output}")


@bench.command("projector")
def bench_projector(
    events: Annotated[int, typer.Option(help="events in the store and on the ledger")] = 2_000_000,
    catch_up_lag: Annotated[
        int, typer.Option(help="the projector's PIM_PROJECTOR_CATCH_UP_LAG (a backlog above it comes from the store)")
    ] = Settings.model_fields["pim_projector_catch_up_lag"].get_default(),
    output: Annotated[Path, typer.Option(help="where to write the JSON result")] = Path("bench-results/projector.json"),
) -> None:
    """Live consumption from Kafka and rebuild from the store, beside raw getmany and one SQL statement."""
    configure_logging(False)
    result = _run(projector.run_projector_bench(Settings(), events, catch_up_lag, console))
    projector.show(result, console)
    projector.save(result, output)
    console.print(f"Written to {output}")


@bench.command("national")
def bench_national(
    scale: Annotated[
        float, typer.Option(help="the registry's size: 1 is Vietnam's (4,174 units); 2, 4 … to see growth")
    ] = 1.0,
    output: Annotated[Path, typer.Option(help="where to write the JSON result")] = Path("bench-results/national.json"),
) -> None:
    """Vietnam's registry through the real path: load, settle, standings while reports stream, an alerts
    sweep, the rebuild, storage; every list checked against a rebuild's and every unit counted."""
    configure_logging(False)
    result = _run(national.run_national_bench(Settings(), national.Shape(scale), console))
    national.show(result, console)
    national.save(result, output)
    console.print(f"Written to {output}")
