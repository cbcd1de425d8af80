"""`pim grafana …`: the organization boards' dashboards, written from code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pim.grafana.dashboards import write_dashboards

grafana = typer.Typer(help="Grafana dashboards for organization boards.", no_args_is_help=True)
console = Console()


@grafana.command("dashboards")
def dashboards_command(
    output: Annotated[Path, typer.Option(help="folder Grafana provisions dashboards from")] = Path(
        "infra/grafana/dashboards"
    ),
) -> None:
    """Write the four dashboards as JSON (built with grafana-foundation-sdk)."""
    for path in write_dashboards(output):
        console.print(f"Wrote {path}")
