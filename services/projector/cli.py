"""`pim projector rebuild`: the operator's command-line side of the projector."""

from __future__ import annotations

import asyncio
import time

import typer
from rich.console import Console
from rich.progress import Progress

from services.projector.progress_rules import progress_rules
from services.projector.rebuild import rebuild
from shared.operator_db import migrated_pool
from shared.settings import ProjectorSettings

projector = typer.Typer(help="The projector: ledger topic → read models.")
console = Console()


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
            replayed = await rebuild(pool, progress_rules(ProjectorSettings()), lambda n: progress.advance(task, n))
        console.print(f"Rebuilt the read models from {replayed:,} events in {time.perf_counter() - started:.1f} s.")
