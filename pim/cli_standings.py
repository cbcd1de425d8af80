"""`pim standings`: the Ministry-style monthly lists — per assessment group, the weighted average, the
counts, and the at-or-above / below / not-assessed lists with each unit's rate and rank — as a table, CSV
or XLSX. Reads the projector's standings (`shared/standings.py`); computes nothing of its own."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from pathlib import Path
from typing import Annotated, Any, Literal

import openpyxl
import typer
from openpyxl.styles import Font
from rich.console import Console
from rich.table import Table

from shared.db import connect
from shared.display import NOT_ASSESSED_REASONS, STANDING_LABELS, billions, percent
from shared.events import Indicator
from shared.settings import Settings
from shared.standings import GroupStandings, UnitStanding, latest_plan_year, standings

console = Console()

COLUMNS = (
    "Nhóm / Group", "Ngày / As of", "Danh sách / List", "Xếp loại / Standing", "Hạng / Rank",
    "Hạng trong danh sách / Rank in list", "Mã đơn vị / Unit code", "Đơn vị / Unit", "Kế hoạch (đồng) / Plan (VND)",
    "Lũy kế (đồng) / Year to date (VND)", "Tỷ lệ (%) / Rate (%)", "Bình quân nhóm (%) / Group average (%)",
    "Số liệu đến ngày / Figures as of", "Ghi chú / Note",
)  # fmt: skip


def _note(unit: UnitStanding) -> str:
    if unit.not_assessed_reason:
        return NOT_ASSESSED_REASONS.get(unit.not_assessed_reason, unit.not_assessed_reason)
    return "" if unit.reported else "chưa báo cáo, tính bằng 0 / no report yet, counted as 0"


def _units_in_order(group: GroupStandings) -> list[tuple[str, UnitStanding]]:
    """(list name, unit) in the Ministry's order: each list's units at or above, then below; the not
    assessed last."""
    ordered = [(lst.name, u) for lst in group.lists for u in (*lst.at_or_above, *lst.below)]
    return ordered + [("", u) for u in group.not_assessed]


def flat_rows(groups: list[GroupStandings]) -> list[list[Any]]:
    """One row per unit and group, exact: money in đồng, rates and averages as percentages to 4 decimals."""
    rows = []
    for group in groups:
        for list_name, unit in _units_in_order(group):
            rows.append([
                group.name, group.as_of, list_name, STANDING_LABELS[unit.standing], unit.rank, unit.list_rank,
                unit.unit_code, unit.name, unit.basis if unit.basis is not None else unit.plan, unit.actual,
                None if unit.rate is None else round(unit.rate * 100, 4),
                None if group.average is None else round(group.average * 100, 4), unit.figures_as_of, _note(unit),
            ])  # fmt: skip
    return rows


def _table(group: GroupStandings) -> Table:
    title = (
        f"{group.name} — {group.as_of:%d/%m/%Y} — bình quân / average {percent(group.average)}"
        f" ({billions(group.total_actual)} / {billions(group.total_basis)} tỷ đồng); "
        f"{group.at_or_above_count} bằng hoặc trên / at or above, {group.below_count} dưới / below"
        f" ({group.no_report} chưa báo cáo / no report), {len(group.not_assessed)} không đánh giá / not assessed"
    )
    table = Table(title=title)
    for column in ("Danh sách / List", "Hạng / Rank", "Đơn vị / Unit", "Kế hoạch (tỷ) / Plan (bn)",
                   "Lũy kế (tỷ) / YTD (bn)", "Tỷ lệ / Rate", "Xếp loại / Standing", "Ghi chú / Note"):  # fmt: skip
        table.add_column(column, justify="right" if "(" in column or column.startswith(("Hạng", "Tỷ")) else "left")
    for list_name, unit in _units_in_order(group):
        table.add_row(
            list_name, "" if unit.rank is None else str(unit.rank), unit.name, billions(unit.basis or unit.plan),
            billions(unit.actual), percent(unit.rate), STANDING_LABELS[unit.standing].split(" / ")[0], _note(unit),
        )  # fmt: skip
    return table


def _write_xlsx(groups: list[GroupStandings], out: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Xếp loại - Standings"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in flat_rows(groups):
        sheet.append(row)
        for index in (8, 9):  # money: exact integers, shown with thousands separators
            sheet.cell(sheet.max_row, index + 1).number_format = "#,##0"
    book.save(out)


def csv_text(groups: list[GroupStandings]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(flat_rows(groups))
    return buffer.getvalue()


def standings_command(
    as_of: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="the lists as of this date (YYYY-MM-DD)")],
    group: Annotated[str | None, typer.Option(help="one assessment group, e.g. national or province/lam-dong")] = None,
    indicator: Annotated[Indicator, typer.Option(help="the indicator")] = Indicator.DISBURSEMENT,
    plan_year: Annotated[int | None, typer.Option(help="plan year; default: the newest with standings")] = None,
    output_format: Annotated[Literal["table", "csv", "xlsx"], typer.Option("--format")] = "table",
    out: Annotated[Path | None, typer.Option(help="write to this file (needed for xlsx)")] = None,
) -> None:
    """Print the Ministry-style lists from DATABASE_URL: per group the average, the counts, and the units at
    or above, below and not assessed, with rate and rank."""
    settings = Settings()
    if settings.database_url is None:
        raise typer.BadParameter("set DATABASE_URL to the PIM database")
    if output_format == "xlsx" and out is None:
        raise typer.BadParameter("--format xlsx needs --out FILE.xlsx")
    groups = asyncio.run(_read(settings.database_url, as_of.date(), indicator, plan_year, group))
    if not groups:
        console.print(f"No standings on or before {as_of:%d/%m/%Y} — chưa có số liệu xếp loại.")
        raise typer.Exit(1)
    if output_format == "xlsx" and out is not None:
        _write_xlsx(groups, out)
        console.print(f"Written to {out}")
    elif output_format == "csv":
        if out is None:
            typer.echo(csv_text(groups), nl=False)
        else:
            out.write_text(csv_text(groups), encoding="utf-8-sig")  # with a BOM: Excel reads the diacritics
    else:
        for item in groups:
            console.print(_table(item))


async def _read(
    dsn: str, as_of: dt.date, indicator: Indicator, plan_year: int | None, group: str | None
) -> list[GroupStandings]:
    conn = await connect(dsn)
    try:
        year = plan_year or await latest_plan_year(conn, indicator.value, as_of)
        return [] if year is None else await standings(conn, as_of, indicator.value, year, group)
    finally:
        await conn.close()
