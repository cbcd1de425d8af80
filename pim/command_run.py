"""How a `pim` command runs its coroutine: on uvloop (the event loop in C: a request's socket reads and
writes and a service's round trips to PostgreSQL cost less of its CPU than on asyncio's own loop); an embedded
server that went away by itself ends the command with its reason (exit 1), not a traceback; and, where asked,
SIGTERM (`kill`, a CI job's time-out) is taken as Ctrl-C is — the work is cancelled and its clean-ups run, so
the embedded servers it started are stopped."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

import typer
import uvloop
from rich.console import Console

from pim.embedded import EmbeddedServerDied

T = TypeVar("T")
STOPPED_BY_SIGTERM = 128 + signal.SIGTERM


def run_command(work: Coroutine[Any, Any, T], console: Console, *, sigterm_cancels: bool = False) -> T:
    async def main() -> T:
        if sigterm_cancels:
            task = asyncio.current_task()
            assert task is not None
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await work

    try:
        return uvloop.run(main())
    except asyncio.CancelledError:
        if not sigterm_cancels:
            raise
        console.print("Stopped (SIGTERM); the embedded servers are stopped.")
        raise typer.Exit(STOPPED_BY_SIGTERM) from None
    except EmbeddedServerDied as died:  # what was done until then is printed above
        console.print(f"[red]{died}[/red]")
        raise typer.Exit(1) from None
