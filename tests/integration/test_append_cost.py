"""The cost of appending many events to one stream grows with the rows, not with their square: the
stream's current version is read once per stream, not once per row (20,000 rows for one unit made
200,015,000 heap fetches before). Measured in buffers PostgreSQL touched, which do not depend on how
busy the machine is."""

from __future__ import annotations

import json

import asyncpg
import pytest

from shared.event_store import append_statement

pytestmark = pytest.mark.postgres


async def _buffers_to_append(conn: asyncpg.Connection, rows: int) -> int:
    """Buffers touched by one set-based append of `rows` events to one stream (rolled back)."""
    query = (
        "SELECT g AS ord, 'lam-dong'::text AS stream_id, 'DisbursementReported'::text AS event_type,"
        " 1 AS schema_version, DATE '2025-06-30' AS occurred_on, '{}'::jsonb AS payload"
        f" FROM generate_series(1, {rows}) AS g"
    )
    transaction = conn.transaction()
    await transaction.start()
    try:  # EXPLAIN ANALYZE runs the insert: rolled back
        plan: str = await conn.fetchval(
            f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {append_statement(query, 0)}", 0, "test", "test", None
        )
    finally:
        await transaction.rollback()
    top = json.loads(plan)[0]["Plan"]
    return int(top["Shared Hit Blocks"]) + int(top["Shared Read Blocks"])


async def test_appending_to_one_stream_costs_in_proportion_to_the_rows(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        small, large = await _buffers_to_append(conn, 2_000), await _buffers_to_append(conn, 8_000)
    # Four times the rows: about four times the buffers if linear, sixteen if quadratic.
    assert large < 6 * small, (small, large)  # before: 53,334 and 717,826 buffers (×13.5)
