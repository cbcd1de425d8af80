"""The tables `pim demo` prints: unit progress, open alerts, and who answered stint by stint."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import asyncpg
from rich.table import Table

from services.projector import ProgressRules, progress_as_known_on
from shared.display import billions, percent, points

INDICATOR_LABEL = {"public_investment_disbursement": "Disbursement", "budget_revenue": "Revenue"}


def _pct(fraction: Decimal | None) -> str:
    return percent(fraction, 1)


async def progress_table(
    conn: asyncpg.Connection, known_on: dt.date | None = None, rules: ProgressRules | None = None
) -> Table:
    """Each unit's latest progress; `known_on` shows it as it was known on that date instead."""
    names = {r["unit_code"]: r["name"] for r in await conn.fetch("SELECT unit_code, name FROM units")}
    if known_on is None:
        # The standing and rank in the unit's home group on its latest report date, as the projector keeps them.
        rows = [
            dict(r)
            for r in await conn.fetch(
                "SELECT p.*, s.rank AS peer_rank, g.name AS group_name FROM unit_progress p"
                " LEFT JOIN assessment_groups g ON g.group_id = p.peer_group"
                " LEFT JOIN LATERAL (SELECT s.rank FROM assessment_standings s WHERE s.group_id = p.peer_group"
                " AND s.indicator = p.indicator AND s.plan_year = p.plan_year AND s.as_of = p.as_of"
                " AND s.unit_code = p.unit_code) s ON true"
            )
        ]
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
    if rows:  # the latest plan year: the one a board is working on
        latest_year = max(r["plan_year"] for r in rows)
        rows = [r for r in rows if r["plan_year"] == latest_year]
        title += f" — {latest_year}"
    rows.sort(key=lambda r: (names.get(r["unit_code"], r["unit_code"]), r["indicator"]))
    table = Table(title=title)
    numeric = ("Target", "Actual YTD", "Rate", "Pace", "Group average", "Rank")
    for column in ("Unit", "Indicator", "As of", *numeric[:4], "Status", "Group", *numeric[4:], "Standing"):
        table.add_column(column, justify="right" if column in numeric else "left")
    for r in rows:
        table.add_row(
            names.get(r["unit_code"], r["unit_code"]),
            INDICATOR_LABEL[r["indicator"]],
            r["as_of"].isoformat(),
            billions(r["target"]),
            billions(r["actual_ytd"]),
            _pct(r["rate"]),
            _pct(r["expected_pace"]),
            r["status"],
            (r.get("group_name") or r.get("peer_group") or "—").split(" / ")[0],
            _pct(r.get("peer_average")),
            "—" if r.get("peer_rank") is None else str(r["peer_rank"]),
            r.get("standing") or "—",
        )
    return table


async def alert_summary_table(conn: asyncpg.Connection) -> Table:
    rows = await conn.fetch(
        "SELECT plan_year, rule, count(*) FILTER (WHERE severity = 'warning') AS warning,"
        " count(*) FILTER (WHERE severity = 'critical') AS critical,"
        " count(*) FILTER (WHERE escalated_to IS NOT NULL) AS escalated"
        " FROM alerts WHERE status = 'open' GROUP BY 1, 2 ORDER BY 1 DESC, 2"
    )
    table = Table(title="Open alerts by rule — Cảnh báo đang mở theo quy tắc")
    for column in ("Plan year", "Rule", "Warning", "Critical", "Escalated"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r["plan_year"]), r["rule"], str(r["warning"]), str(r["critical"]), str(r["escalated"]))
    return table


async def flagged_table(conn: asyncpg.Connection) -> Table:
    """The latest plan year's open alerts, one row per unit: what was found, and who answers for it."""
    rows = await conn.fetch(
        "SELECT u.name, a.* FROM alerts a JOIN units u USING (unit_code) WHERE a.status = 'open'"
        " AND a.plan_year = (SELECT max(plan_year) FROM alerts)"
        ' ORDER BY u.name COLLATE "C", a.indicator NULLS LAST, a.rule, a.period'
    )
    table = Table(title="Flagged units — Đơn vị bị cảnh báo (latest plan year; responsible head named)")
    for column in ("Unit", "Findings", "Severity", "Responsible head", "Committee"):
        table.add_column(column)
    for name, group in itertools.groupby(rows, key=lambda r: r["name"]):
        alerts = list(group)
        findings = [
            f"{INDICATOR_LABEL.get(a['indicator'] or '', 'Leader')}: {a['rule']}"
            + (f" {a['period']}" if a["rule"] == "missing_report" else "")
            for a in alerts
        ]
        heads = {a["responsible_leader_name"] or "(vacant — chưa có người đứng đầu)" for a in alerts if a["indicator"]}
        escalated = {a["escalated_to"] for a in alerts if a["escalated_to"]}
        table.add_row(
            name,
            "\n".join(findings),
            "critical" if any(a["severity"] == "critical" for a in alerts) else "warning",
            ", ".join(sorted(heads)) or alerts[0]["responsible_leader_name"] or "",
            alerts[0]["committee"] + "".join(f"\n→ {target}" for target in sorted(escalated)),
        )
    return table


async def accountability_table(conn: asyncpg.Connection, indicator: str = "public_investment_disbursement") -> Table:
    """Stints of the units whose head changed or whose post fell vacant during the year."""
    rows = await conn.fetch(
        "SELECT u.name, a.* FROM leader_accountability a JOIN units u USING (unit_code)"
        " WHERE a.indicator = $1 AND a.answerable_as = 'head'"
        " AND a.plan_year = (SELECT max(plan_year) FROM leader_accountability) AND a.unit_code IN ("
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
            points(r["gap_arisen"]), str(r["months_behind"]),
        )  # fmt: skip
    return table
