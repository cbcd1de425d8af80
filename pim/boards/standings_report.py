"""The Ministry-style monthly lists — per assessment group, the weighted average, the counts, and the
at-or-above / below / not-assessed lists with each unit's rate and rank — as a terminal table, CSV or XLSX.
Renders the projector's standings (`services/projector/standings.py`); computes nothing of its own."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.styles import Font
from rich.table import Table

from services.projector import GroupReporting, GroupStandings, UnitStanding
from shared.display import NOT_ASSESSED_REASONS, PLAN_ASSIGNED_BY_LABELS, STANDING_LABELS, billions, percent
from shared.money import plain_decimal

COLUMNS = (
    "Nhóm / Group", "Năm kế hoạch / Plan year", "Ngày / As of", "Danh sách / List", "Xếp loại / Standing",
    "Hạng / Rank", "Hạng trong danh sách / Rank in list", "Mã đơn vị / Unit code", "Đơn vị / Unit",
    "Kế hoạch (đồng) / Plan (VND)", "Kế hoạch do ai giao / Plan assigned by", "Lũy kế (đồng) / Year to date (VND)",
    "Tỷ lệ (%) / Rate (%)", "Bình quân nhóm (%) / Group average (%)", "Số liệu đến ngày / Figures as of",
    "Ghi chú / Note",
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
                group.name, group.plan_year, group.as_of, list_name, STANDING_LABELS[unit.standing], unit.rank,
                unit.list_rank, unit.unit_code, unit.name, unit.basis if unit.basis is not None else unit.plan,
                PLAN_ASSIGNED_BY_LABELS[unit.plan_assigned_by], unit.actual,
                None if unit.rate is None else round(unit.rate * 100, 4),
                None if group.average is None else round(group.average * 100, 4), unit.figures_as_of, _note(unit),
            ])  # fmt: skip
    return rows


def standings_tables(group: GroupStandings) -> list[Table]:
    """The group as the Ministry publishes it: a headline (average, counts), then one table per list —
    its units at or above the average, then below, by rank — and the units not assessed."""
    headline = (
        f"{group.name} — kế hoạch năm / plan year {group.plan_year} — {group.as_of:%d/%m/%Y}"
        f" — xếp theo / ranked on {PLAN_ASSIGNED_BY_LABELS[group.plan_assigned_by]}"
        f" — bình quân / average {percent(group.average)}"
        f" ({billions(group.total_actual)} / {billions(group.total_basis)} tỷ đồng); "
        f"{group.at_or_above_count} bằng hoặc trên / at or above, {group.below_count} dưới / below"
        f" ({group.no_report} chưa báo cáo / no report), {len(group.not_assessed)} không đánh giá / not assessed"
    )
    tables = []
    sections = [(lst.name, [*lst.at_or_above, *lst.below]) for lst in group.lists]
    sections.append((STANDING_LABELS["not_assessed"], group.not_assessed))
    for number, (name, units) in enumerate(sections):
        if not units:
            continue
        table = Table(title=f"{headline}\n{name}" if number == 0 else name)
        for column in ("Hạng trong danh sách (trong nhóm) / Rank in list (in group)", "Đơn vị / Unit",
                       "Kế hoạch (tỷ) / Plan (bn)", "Lũy kế (tỷ) / YTD (bn)", "Tỷ lệ / Rate", "Xếp loại / Standing",
                       "Ghi chú / Note"):  # fmt: skip
            table.add_column(column, justify="left" if column.startswith(("Đơn", "Xếp", "Ghi")) else "right")
        for unit in units:
            table.add_row(
                "" if unit.list_rank is None else f"{unit.list_rank} ({unit.rank})", unit.name,
                billions(unit.basis or unit.plan)
                + (f" ({_short(PLAN_ASSIGNED_BY_LABELS[unit.plan_assigned_by])})"
                   if unit.plan_assigned_by != group.plan_assigned_by else ""),
                billions(unit.actual), percent(unit.rate),
                _short(STANDING_LABELS[unit.standing]), _note(unit),
            )  # fmt: skip
        tables.append(table)
    return tables


def reporting_table(group: GroupReporting) -> Table:
    """Reporting on time in a group as of a date: the group's rate, then each member by rank."""
    table = Table(
        title=f"{group.name} — kế hoạch năm / plan year {group.plan_year} — {group.as_of:%d/%m/%Y}"
        f" — báo cáo đúng hạn / reports on time {percent(group.rate)} ({group.on_time}/{group.expected})"
    )
    for column in ("Hạng / Rank", "Đơn vị / Unit", "Đến hạn / Due", "Đúng hạn / On time", "Chậm / Late",
                   "Chưa nộp / Missing", "Tỷ lệ / Rate", "Xếp loại / Standing"):  # fmt: skip
        table.add_column(column, justify="left" if column.startswith(("Đơn", "Xếp")) else "right")
    for unit in group.units:
        table.add_row(str(unit.rank), unit.name, str(unit.expected), str(unit.on_time), str(unit.late),
                      str(unit.missing), percent(unit.rate), _short(STANDING_LABELS[unit.standing]))  # fmt: skip
    return table


def _short(label: str) -> str:
    """A label's Vietnamese half: a table cell has room for one language."""
    return label.split(" / ")[0]


def write_xlsx(groups: list[GroupStandings], out: Path) -> None:
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
        for index in (9, 11):  # money: exact integers, shown with thousands separators
            sheet.cell(sheet.max_row, index + 1).number_format = "#,##0"
    book.save(out)


def csv_text(groups: list[GroupStandings]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows([plain_decimal(c) if isinstance(c, Decimal) else c for c in row] for row in flat_rows(groups))
    return buffer.getvalue()
