"""Downloadable templates for figure files, with Vietnamese and English headers."""

from __future__ import annotations

import csv
import io

from services.ingest.files import FIGURE_COLUMNS

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def figures_csv_template() -> bytes:
    """Header row only, UTF-8 with a byte-order mark so Excel opens the Vietnamese headers correctly."""
    out = io.StringIO()
    csv.writer(out).writerow([c.header for c in FIGURE_COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def figures_xlsx_template() -> bytes:
    """Sheet 1: the header row to fill in. Sheet 2: what each column takes, with an example."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Số liệu (figures)"
    sheet.append([c.header for c in FIGURE_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, column in zip("ABCDEFGHIJ", FIGURE_COLUMNS, strict=False):
        sheet.column_dimensions[letter].width = max(18, len(column.header) + 2)
        if column.key in ("amount", "unit_code", "category", "project_code"):
            sheet.column_dimensions[letter].number_format = "@"  # text: amounts keep every digit
    guide = workbook.create_sheet("Hướng dẫn (guide)")
    guide.append(["Cột (column)", "Bắt buộc (required)", "Ví dụ (example)", "Ghi chú (notes)"])
    for column in FIGURE_COLUMNS:
        guide.append([column.header, "có (yes)" if column.required else "không (no)", column.example, column.hint])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
