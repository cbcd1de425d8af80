"""The two tables `pim demo` prints: unit progress, and units flagged below target."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
from rich.table import Table

BILLION = Decimal(1_000_000_000)
INDICATOR_LABEL = {"public_investment_disbursement": "Disbursement", "budget_revenue": "Revenue"}


def _pct(fraction: Decimal | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:.1f}%"


def _billions(amount: Decimal | None) -> str:
    return "—" if amount is None else f"{amount / BILLION:,.0f}"


async def progress_table(conn: asyncpg.Connection) -> Table:
    rows = await conn.fetch(
        "SELECT u.name, p.* FROM unit_progress p JOIN units u USING (unit_code)"
        ' ORDER BY u.name COLLATE "C", p.indicator DESC'
    )
    table = Table(title="Progress against target and pace (billion VND) — Tiến độ so với kế hoạch")
    for column in ("Unit", "Indicator", "As of", "Target", "Actual YTD", "Rate", "Pace", "Status"):
        table.add_column(column, justify="right" if column in ("Target", "Actual YTD", "Rate", "Pace") else "left")
    for r in rows:
        table.add_row(
            r["name"],
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
