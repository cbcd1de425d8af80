"""Downloadable templates for figure files, with Vietnamese and English headers.

The spreadsheet is one a clerk can fill alone: the header frozen, drop-down lists for the indicator, the
capital source or revenue category and the kind of amount (and, for a token, the unit codes it may report
for), an example sheet, and a guide in Vietnamese first. Only the first sheet is read on import, so the
example rows are never taken for figures.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence

from services.ingest.files import FIGURE_COLUMNS
from shared.events import Indicator

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATE_ROWS = 5_000  # rows the drop-down lists cover on the figures sheet
INDICATOR_WORDS = ("giải ngân", "thu ngân sách")  # as the parser reads them (figure_rows)
AMOUNT_KIND_WORDS = ("lũy kế", "phát sinh")
EXAMPLES = (
    ("lam-dong", "giải ngân", 2025, "central_budget", "", "31/10/2025", "lũy kế", "4.200.000.000.000", "", ""),
    ("lam-dong", "thu ngân sách", 2025, "taxes", "", "31/10/2025", "lũy kế", "52,5 tỷ", "", ""),
    ("lam-dong", "giải ngân", 2025, "oda", "DA-0012", "31/10/2025", "phát sinh", "120 triệu đồng", "", ""),
)
GUIDE = {
    "unit_code": "mã đơn vị trong danh mục (xem trang Đơn vị) / the unit's code in the registry (see Units)",
    "indicator": "giải ngân hoặc thu ngân sách / disbursement or budget revenue",
    "plan_year": "năm kế hoạch / năm ngân sách / the plan or fiscal year",
    "category": "nguồn vốn (central_budget, local_budget, oda…) hoặc khoản thu (taxes…) / capital source or"
    " revenue category",
    "project_code": "không bắt buộc: mã dự án, cho số liệu theo dự án / optional: the project",
    "as_of": "DD/MM/YYYY hoặc YYYY-MM-DD; ô kiểu ngày cũng được / or a date cell",
    "amount_kind": "lũy kế (mặc định) hoặc phát sinh / cumulative (default) or period",
    "amount": "đồng: 1.234.567 hoặc 1234567; đọc được '… đ', '52,5 tỷ', '120 triệu' / VND; words đ, tỷ, triệu are read",
    "correction_reason": "chỉ điền khi điều chỉnh số đã báo cáo / only to correct an earlier report",
    "document_date": "báo cáo muộn: ngày của văn bản gốc / a late backfill: the source document's date",
}


def figures_csv_template() -> bytes:
    """Header row only, UTF-8 with a byte-order mark so Excel opens the Vietnamese headers correctly."""
    out = io.StringIO()
    csv.writer(out).writerow([c.header for c in FIGURE_COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def figures_xlsx_template(categories: Mapping[Indicator, set[str]], units: Sequence[tuple[str, str]] = ()) -> bytes:
    """Sheet 1: the header to fill in under, with drop-downs. Then: examples, the guide, the lists (and the
    `units` (code, name) a token may report for)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Số liệu (figures)"
    sheet.append([c.header for c in FIGURE_COLUMNS])
    sheet.freeze_panes = "A2"
    letters = {c.key: get_column_letter(n) for n, c in enumerate(FIGURE_COLUMNS, start=1)}
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column in FIGURE_COLUMNS:
        sheet.column_dimensions[letters[column.key]].width = max(18, len(column.header) + 2)
        if column.key in ("amount", "unit_code", "category", "project_code"):
            sheet.column_dimensions[letters[column.key]].number_format = "@"  # text: amounts keep every digit

    lists = workbook.create_sheet("Danh mục (lists)")
    codes = sorted(set().union(*categories.values()))
    for values, letter in ((INDICATOR_WORDS, "A"), (AMOUNT_KIND_WORDS, "B"), (codes, "C")):
        for number, word in enumerate(values, start=1):
            lists[f"{letter}{number}"] = word
    drop_downs = {"indicator": f"$A$1:$A${len(INDICATOR_WORDS)}", "amount_kind": f"$B$1:$B${len(AMOUNT_KIND_WORDS)}",
                  "category": f"$C$1:$C${len(codes)}"}  # fmt: skip
    if units:
        unit_sheet = workbook.create_sheet("Đơn vị (units)")
        unit_sheet.append(["Mã đơn vị (unit_code)", "Tên đơn vị (name)"])
        for unit in units:
            unit_sheet.append(list(unit))
        unit_sheet.column_dimensions["B"].width = 40
        drop_downs["unit_code"] = f"'Đơn vị (units)'!$A$2:$A${len(units) + 1}"
    for key, cells in drop_downs.items():
        source = cells if "!" in cells else f"'Danh mục (lists)'!{cells}"
        validation = DataValidation(type="list", formula1=f"={source}", allow_blank=key != "indicator")
        validation.error = "chọn trong danh sách / pick a value from the list"
        validation.add(f"{letters[key]}2:{letters[key]}{TEMPLATE_ROWS + 1}")
        sheet.add_data_validation(validation)

    example = workbook.create_sheet("Ví dụ (example)", 1)
    example.append([c.header for c in FIGURE_COLUMNS])
    for line in EXAMPLES:
        example.append(list(line))
    guide = workbook.create_sheet("Hướng dẫn (guide)", 2)
    guide.append(["Cột (column)", "Bắt buộc (required)", "Ví dụ (example)", "Ghi chú (notes)"])
    for column in FIGURE_COLUMNS:
        guide.append(
            [column.header, "có (yes)" if column.required else "không (no)", column.example, GUIDE[column.key]]
        )
    guide.append([])
    guide.append(["Chỉ trang đầu tiên được đọc khi nhập / only the first sheet is read on import"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
