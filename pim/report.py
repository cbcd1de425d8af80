"""The two tables `pim demo` prints: unit progress, and units flagged below target."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import asyncpg
from rich.table import Table

from services.projector.progress import ProgressRules
from services.projector.time_travel import progress_as_known_on

BILLION = Decimal(1_000_000_000)
INDICATOR_LABEL = {"public_investment_disbursement": "Disbursement", "budget_revenue": "Revenue"}


def _pct(fraction: Decimal | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.1f}%"


def _billions(amount: Decimal | None) -> str:
    return "—" if amount is None else f"{amount / BILLION:,.0f}"


async def progress_table(
    conn: asyncpg.Connection, known_on: dt.date | None = None, rules: ProgressRules | None = None
) -> Table:
    """Each unit's latest progress; `known_on` shows it as it was known on that date instead."""
    names = {r["unit_code"]: r["name"] for r in await conn.fetch("SELECT unit_code, name FROM units")}
    if known_on is None:
        rows = [dict(r) for r in await conn.fetch("SELECT * FROM unit_progress")]
        title = "Progress against target and pace (billion VND) — Tiến độ so với kế hoạch"
    else:
        latest: dict[tuple[str, str, int], dict[str, Any]] = {}
        for row in await progress_as_known_on(conn, known_on, rules or ProgressRules()):
            key = (row["unit_code"], row["indicator"], row["plan_year"])
            if row["category"] == "" and (key not in latest or latest[key]["as_of"] < row["as_of"]):
                latest[key] = row
        rows = list(latest.values())
        title = (
            f"Progress as known on {known_on} (billion VND) — Tiến độ theo số liệu đã biết đến ngày {known_on:%d/%m/%Y}"
        )
    rows.sort(key=lambda r: (names.get(r["unit_code"], r["unit_code"]), r["indicator"]))
    table = Table(title=title)
    for column in ("Unit", "Indicator", "As of", "Target", "Actual YTD", "Rate", "Pace", "Status"):
        table.add_column(column, justify="right" if column in ("Target", "Actual YTD", "Rate", "Pace") else "left")
    for r in rows:
        table.add_row(
            names.get(r["unit_code"], r["unit_code"]),
            INDICATOR_LABEL[r["indicator"]],
            r["as_of"].isoformat(),
            _billions(r["target"]),
            _billions(r["actual_ytd"]),
            _pct(r["rate"]),
            _pct(r["expected_pace"]),
            r["status"],
        )
    return table


async def flagged_table(conn: asyncpg.Connection) -> Table:
    rows = await conn.fetch(
        "SELECT u.name, a.* FROM alerts a JOIN units u USING (unit_code) WHERE a.status = 'open'"
        ' ORDER BY a.severity, u.name COLLATE "C"'
    )
    table = Table(title="Flagged below target — Đơn vị dưới tiến độ (responsible head named)")
    for column in ("Unit", "Indicator", "Severity", "Rate", "Pace", "Responsible head", "Committee"):
        table.add_column(column)
    for r in rows:
        evidence = r["evidence"]
        table.add_row(
            r["name"],
            INDICATOR_LABEL[r["indicator"]],
            r["severity"],
            _pct(Decimal(evidence["rate"])),
            _pct(Decimal(evidence["expected_pace"])),
            r["responsible_leader_name"] or "(vacant — chưa có người đứng đầu)",
            r["committee"],
        )
    return table


async def accountability_table(conn: asyncpg.Connection, indicator: str = "public_investment_disbursement") -> Table:
    """Stints of the units whose head changed or whose post fell vacant during the year."""
    rows = await conn.fetch(
        "SELECT u.name, a.* FROM leader_accountability a JOIN units u USING (unit_code)"
        " WHERE a.indicator = $1 AND a.answerable_as = 'head' AND a.unit_code IN ("
        "   SELECT unit_code FROM leader_accountability WHERE indicator = $1 AND answerable_as = 'head'"
        "   GROUP BY unit_code, plan_year HAVING count(*) > 1)"
        ' ORDER BY u.name COLLATE "C", a.stint_start',
        indicator,
    )
    table = Table(title=f"Who answered, stint by stint — Trách nhiệm người đứng đầu ({INDICATOR_LABEL[indicator]})")
    for column in ("Unit", "Head", "Role", "From", "To", "Rate at start", "Rate at end", "Gap arisen", "Months behind"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["name"], r["leader_name"] or "(vacant — trống)", r["role"] or "", r["stint_start"].isoformat(),
            r["stint_end"].isoformat(), _pct(r["rate_at_start"]), _pct(r["rate_at_end"]),
            "—" if r["gap_arisen"] is None else f"{r['gap_arisen'] * 100:+.1f} pp", str(r["months_behind"]),
        )  # fmt: skip
    return table
