"""A pooled connection that LISTENs on a channel and says when PostgreSQL dropped it.

When PostgreSQL restarts, asyncpg's pool takes the dropped connection back on its own: asking the checked-out
proxy `is_closed()` then raises "released back to the pool" instead of answering. A termination listener is
told either way, so a loop learns of the loss at once (its wake-up event is set) and can say what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg


@dataclass
class Listening:
    lost: bool = False  # PostgreSQL dropped the connection: no NOTIFY comes any more


@contextlib.asynccontextmanager
async def notify_listener(pool: asyncpg.Pool, channel: str, wake: asyncio.Event) -> AsyncIterator[Listening]:
    """Set `wake` on every NOTIFY on `channel`, and on the connection's loss (then `lost` is true)."""
    conn = await pool.acquire()
    listening = Listening()

    def on_notify(*_: object) -> None:
        wake.set()

    def on_lost(*_: object) -> None:
        listening.lost = True
        wake.set()

    try:  # from here on the connection goes back to the pool, even if cancelled while it starts to listen
        conn.add_termination_listener(on_lost)
        await conn.add_listener(channel, on_notify)
        yield listening
    finally:
        # A connection PostgreSQL dropped is already back in the pool: nothing to undo, and the error that
        # ended the caller's loop is the one to report. Released whatever happens: a connection kept would
        # make the pool's close wait for ever.
        try:
            with contextlib.suppress(asyncpg.InterfaceError):
                conn.remove_termination_listener(on_lost)
                await conn.remove_listener(channel, on_notify)
        finally:
            with contextlib.suppress(asyncpg.InterfaceError):
                await pool.release(conn)
