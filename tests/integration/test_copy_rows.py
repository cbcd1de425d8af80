"""`copy_rows_as_csv` against a real PostgreSQL: what goes in comes out, value for value, as with the
binary COPY it replaces."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg
import pytest

from shared.db import copy_rows_as_csv

pytestmark = pytest.mark.postgres

COLUMNS = ("name", "code", "amount", "rate", "day", "n", "note")
ROWS = [
    ("Xã Tân Phú, huyện Đồng Phú", "", Decimal("999999999999999.99"), Decimal("0.0001"), dt.date(2025, 9, 30), 1, None),
    ('Phường "Bến Nghé"', "A,B", Decimal("-1250000"), Decimal("1E+3"), dt.date(2026, 1, 31), -7, "dòng 1\ndòng 2"),
    ("Ủy ban Kiểm tra", "x", Decimal("0"), None, dt.date(2025, 1, 1), 0, "ghi chú"),
]


async def test_rows_round_trip_exactly_like_a_binary_copy(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for table in ("by_csv", "by_binary"):
            await conn.execute(
                f"CREATE TABLE {table} (name text NOT NULL, code text NOT NULL, amount numeric, rate numeric,"
                " day date, n int, note text)"
            )
        await copy_rows_as_csv(conn, "by_csv", COLUMNS, ROWS, empty_text=("code",))
        await conn.copy_records_to_table("by_binary", records=ROWS, columns=COLUMNS)
        by_csv = [tuple(r) for r in await conn.fetch("SELECT * FROM by_csv ORDER BY name")]
        by_binary = [tuple(r) for r in await conn.fetch("SELECT * FROM by_binary ORDER BY name")]
    assert by_csv == by_binary
    assert sorted(ROWS, key=lambda r: r[0]) == by_csv


async def test_an_empty_string_is_null_unless_its_column_keeps_empty_text(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE t (code text, note text)")
        await copy_rows_as_csv(conn, "t", ("code", "note"), [("", ""), ("", None)], empty_text=("code",))
        rows = [tuple(r) for r in await conn.fetch("SELECT code, note FROM t")]
    assert rows == [("", None), ("", None)]
