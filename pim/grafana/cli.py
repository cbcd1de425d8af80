"""`pim grafana …`: the organization boards' dashboards, written from code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from grafana_client.api import GrafanaApi
from rich.console import Console

from pim.grafana.dashboards import write_dashboards
from pim.grafana.provision import Database, provision

grafana = typer.Typer(help="Grafana dashboards for organization boards: write, provision.", no_args_is_help=True)
console = Console()


@grafana.command("dashboards")
def dashboards_command(
    output: Annotated[Path, typer.Option(help="folder Grafana provisions dashboards from")] = Path(
        "infra/grafana/dashboards"
    ),
) -> None:
    """Write the boards' four dashboards and the operators' one as JSON (built with grafana-foundation-sdk)."""
    for path in write_dashboards(output):
        console.print(f"Wrote {path}")


@grafana.command("provision")
def provision_command(
    url: Annotated[str, typer.Option(help="Grafana's base URL")],
    token: Annotated[str, typer.Option(envvar="GRAFANA_TOKEN", help="a service-account token (Editor or Admin)")],
    db_host: Annotated[str, typer.Option(help="PostgreSQL host:port as Grafana reaches it")] = "postgres:5432",
    db_name: Annotated[str, typer.Option(help="the PIM database")] = "pim",
    db_user: Annotated[str, typer.Option(help="a login in role pim_reader")] = "grafana",
    db_password: Annotated[str, typer.Option(envvar="GRAFANA_DB_PASSWORD", help="its password")] = "",
) -> None:
    """Create or update the PIM folder, the read-only PostgreSQL data source and the dashboards."""
    api = GrafanaApi.from_url(url, credential=token)
    for line in provision(api, Database(db_host, db_name, db_user, db_password)):
        console.print(line)
