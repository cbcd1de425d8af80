"""The event store's own limits, measured in the bench's run on the same server: what PIM's import and single
reports are held to (issue: a bare ten-column COPY is no limit an event store can reach).

- COPY of the same figures as event rows into a table made like `events` (its primary key, its unique
  stream constraint, its columns and their types): the most a bulk import could write.
- One event row inserted and committed per transaction, from several connections at once: the most single
  reports could be stored at, whatever else they cost.

Both write into a scratch table dropped afterwards: the store itself is append-only and keeps nothing of it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from decimal import Decimal
from typing import Any

import asyncpg

SCRATCH = "bench_store_limit"
COLUMNS = ("position", "event_id", "stream_id", "stream_version", "event_type", "schema_version", "occurred_on",
           "submitted_by", "channel", "correlation_id", "payload")  # fmt: skip
CONNECTIONS = 8  # as many as the benchmark API's pool


def event_row(position: int, figure: tuple[Any, ...]) -> tuple[Any, ...]:
    """A figure row as the event row the store keeps for it (the payload as `DisbursementReported`'s)."""
    _, indicator, unit, year, category, project, as_of, kind, amount, _ = figure
    payload = {"type": "DisbursementReported", "unit_code": unit, "plan_year": year, "category": category,
               "project_code": project or None, "as_of": as_of.isoformat(), "amount_kind": kind,
               "amount": str(amount), "document_date": None}  # fmt: skip
    return (position, uuid.uuid4(), f"{unit}/{indicator}/{year}/{category}/{project}/{as_of}", 1,
            "DisbursementReported", 1, as_of, "bench", "bench", None, payload)  # fmt: skip


async def _scratch(conn: asyncpg.Connection) -> None:
    await conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
    await conn.execute(f"CREATE TABLE {SCRATCH} (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
                       " INCLUDING INDEXES)")  # fmt: skip


async def measure_store_copy(pool: asyncpg.Pool, figures: list[tuple[Any, ...]]) -> float:
    """Rows a second COPY writes the figures as event rows into a table like `events`."""
    rows = [event_row(position, figure) for position, figure in enumerate(figures, start=1)]
    async with pool.acquire() as conn:
        await _scratch(conn)
        try:
            started = time.perf_counter()
            await conn.copy_records_to_table(SCRATCH, records=rows, columns=COLUMNS)
            elapsed = time.perf_counter() - started
        finally:
            await conn.execute(f"DROP TABLE {SCRATCH}")
    return len(rows) / elapsed


async def measure_single_appends(pool: asyncpg.Pool, seconds: float = 5.0, connections: int = CONNECTIONS) -> float:
    """Transactions a second, each inserting one event row and committing, from `connections` at once (one:
    the limit as issue 28 measured it, each commit waiting for the last; eight: as many as the API's pool)."""
    async with pool.acquire() as conn:
        await _scratch(conn)
    positions = iter(range(1, 10**12))
    figure = (0, "public_investment_disbursement", "khac-000", 2025, "other", "", dt.date(2025, 6, 30),
              "cumulative", Decimal(1000), None)  # fmt: skip
    insert = f"INSERT INTO {SCRATCH} ({', '.join(COLUMNS)}) VALUES ({', '.join(f'${n}' for n in range(1, 12))})"
    done = 0
    deadline = time.perf_counter() + seconds

    async def one_connection() -> None:
        nonlocal done
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                position = next(positions)
                row = event_row(position, figure)
                async with conn.transaction():
                    await conn.execute(insert, *row[:2], f"{row[2]}/{position}", *row[3:])
                done += 1

    started = time.perf_counter()
    try:
        await asyncio.gather(*(one_connection() for _ in range(connections)))
    finally:
        async with pool.acquire() as conn:
            await conn.execute(f"DROP TABLE {SCRATCH}")
    return done / (time.perf_counter() - started)
