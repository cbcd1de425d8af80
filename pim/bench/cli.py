"""`pim bench …`: each benchmark beside the raw limits measured in the same run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pim.bench import ingest, national, projector
from pim.command_run import run_command
from shared.observability import configure_logging
from shared.settings import Settings

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
    result = run_command(
        ingest.run_ingest_bench(Settings(), rows, rate, seconds, console), console, sigterm_cancels=True
    )
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
    result = run_command(
        projector.run_projector_bench(Settings(), events, catch_up_lag, console), console, sigterm_cancels=True
    )
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
    result = run_command(
        national.run_national_bench(Settings(), national.Shape(scale), console), console, sigterm_cancels=True
    )
    national.show(result, console)
    national.save(result, output)
    console.print(f"Written to {output}")
