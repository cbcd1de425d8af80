"""`pim docs …`: documents generated from the code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pim.docs.asyncapi import write_asyncapi

docs = typer.Typer(help="Documents generated from the code.", no_args_is_help=True)
console = Console()


@docs.command("asyncapi")
def asyncapi_command(output: Annotated[Path, typer.Option(help="folder to write to")] = Path("docs")) -> None:
    """The AsyncAPI 3 document of PIM's topics (docs/asyncapi.json and .yaml)."""
    for path in write_asyncapi(output):
        console.print(f"Wrote {path}")
