"""The projector's year-to-date arithmetic (pure Python) against one set-based SQL statement written
independently (`YEAR_TO_DATE_SQL`, also the benchmark's raw limit), on random figures: supersession,
cumulative and period reports, several categories and projects, a merger."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pim.bench.year_to_date_sql import YEAR_TO_DATE_SQL
from services.projector.actuals import TOTAL, Figure, actuals

pytestmark = pytest.mark.postgres
DISB = "public_investment_disbursement"
MERGER = dt.date(2025, 7, 1)

figure_rows = st.lists(
    st.tuples(
        st.sampled_from(["hue", "hue", "quang-tri"]),  # source: the unit, or one merged into it
        st.sampled_from(["oda", "central_budget"]),
        st.sampled_from(["", "DA-1"]),
        st.integers(3, 9).map(lambda month: dt.date(2025, month, 28)),
        st.booleans(),  # cumulative
        st.integers(0, 10**12).map(Decimal),
    ),
    min_size=1,
    max_size=25,
)


async def both_ways(conn: asyncpg.Connection, rows: list[tuple[object, ...]], merged: str | None) -> tuple[dict, dict]:  # type: ignore[type-arg]
    """`merged`: None, or how Quảng Trị's successor Huế reports from the merger on (own_only: the
    predecessor's figures are added to its own; consolidated: its figures already include them)."""
    await conn.execute("TRUNCATE figures, unit_mergers")
    figures = [Figure(src, cat, proj, day, pos, cum, amount)  # type: ignore[arg-type]
               for pos, (src, cat, proj, day, cum, amount) in enumerate(rows, start=1)]  # fmt: skip
    await conn.copy_records_to_table(
        "figures",
        records=[(f.position, f.source, DISB, 2025, f.category, f.project_code, f.as_of,
                  "cumulative" if f.cumulative else "period", f.amount, None, f.as_of) for f in figures],
    )  # fmt: skip
    if merged:
        await conn.execute("INSERT INTO unit_mergers VALUES ('quang-tri', 'hue', $1, 0, $2)", MERGER, merged)
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_nestloop = off")
        sql = {
            (r["as_of"], r["category"]): r["actual_ytd"]
            for r in await conn.fetch(YEAR_TO_DATE_SQL, ["hue"], [DISB], [2025], None)
        }
    own = [f for f in figures if f.source == "hue" or merged == "own_only"]
    return actuals("hue", own, {"quang-tri": MERGER} if merged else {}), sql


async def test_python_year_to_date_equals_the_sql_statement(pool: asyncpg.Pool) -> None:
    loop = asyncio.get_running_loop()
    async with pool.acquire() as conn:
        python, sql = await both_ways(conn, [("hue", "oda", "", dt.date(2025, 5, 28), True, Decimal(7))], None)
        assert python == sql == {(dt.date(2025, 5, 28), "oda"): 7, (dt.date(2025, 5, 28), TOTAL): 7}

        @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)  # fmt: skip
        @given(rows=figure_rows, merged=st.sampled_from([None, "own_only", "consolidated"]))
        def check(rows: list[tuple[object, ...]], merged: str | None) -> None:
            python, sql = asyncio.run_coroutine_threadsafe(both_ways(conn, rows, merged), loop).result(timeout=60)
            assert python == sql

        await asyncio.to_thread(check)
