"""Reading figure files that clerks send: CSV (UTF-8) and XLSX, with bilingual headers.

Every refusal names the row, the column and the reason. Size and zip-bomb limits are checked before a
file is parsed.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from services.ingest.errors import RowError, SubmissionRejected
from services.ingest.figure_rows import normalise_label

MAX_FILE_BYTES = 100 * 1024 * 1024  # 100 MB, the largest file accepted
MAX_XLSX_UNCOMPRESSED = 400 * 1024 * 1024  # what an accepted spreadsheet may unpack to
MAX_XLSX_RATIO = 200  # compression ratio beyond which an entry is treated as a zip bomb
XLSX_MAGIC = b"PK\x03\x04"
HEARD_EVERY = 1000  # rows between two reports of how far reading has got


@dataclass(frozen=True)
class Column:
    key: str  # the English key, as in the JSON API
    vietnamese: str
    required: bool
    example: str
    hint: str
    per_row: bool = False  # a value each row states itself: a merged cell is refused, not read on every row

    @property
    def header(self) -> str:
        return f"{self.vietnamese} ({self.key})"


FIGURE_COLUMNS = (
    Column("unit_code", "Mã đơn vị", True, "lam-dong", "the unit's code in the registry"),
    Column("indicator", "Chỉ tiêu", True, "giải ngân", "giải ngân (disbursement) or thu ngân sách (revenue)"),
    Column("plan_year", "Năm kế hoạch", True, "2025", "the plan / fiscal year"),
    Column("category", "Nguồn vốn / khoản thu", True, "central_budget",
           "capital source (central_budget, local_budget, oda…) or revenue category (taxes, fees_and_charges…)"),
    Column("project_code", "Mã dự án", False, "", "optional: the project, for project-level figures"),
    Column("as_of", "Số liệu đến ngày", True, "2025-10-31", "YYYY-MM-DD or DD/MM/YYYY"),
    Column("amount_kind", "Loại số liệu", False, "lũy kế", "lũy kế (cumulative, default) or phát sinh (period)"),
    Column("amount", "Số tiền (đồng)", True, "4.200.000.000.000", "VND; 1.234.567 or 1,234,567 or 1234567",
           per_row=True),
    Column("correction_reason", "Lý do điều chỉnh", False, "", "fill only to correct an earlier report"),
    Column("document_date", "Ngày văn bản gốc", False, "", "for a late backfill: the date of the source document"),
)  # fmt: skip


# A row-number column ("STT", "TT", "Số thứ tự", "No.") many official spreadsheets start with: read past.
ROW_NUMBER_LABELS = frozenset(normalise_label(label) for label in ("STT", "TT", "Số thứ tự", "số TT", "No.", "No"))
ROW_NUMBER = "row number"  # the key such a column maps to: no field of a figure
TITLE_ROWS = 10  # rows above the header (a title, the unit, the period) looked through for the header


def file_rejected(reason: str, field: str = "file", row: int | None = None, status: int = 422) -> SubmissionRejected:
    return SubmissionRejected([RowError(row, field, None, reason)], status=status)


def _spellings(columns: tuple[Column, ...]) -> dict[str, str]:
    """Each way a header may name a column (its key, its Vietnamese name, both), normalised → the key."""
    return {normalise_label(s): c.key for c in columns for s in (c.key, c.vietnamese, c.header)}


def _header_map(cells: list[object], columns: tuple[Column, ...], row: int = 1) -> list[str | None]:
    """Column key for each header cell (None for a blank trailing cell); refuses missing/extra columns."""
    spellings = _spellings(columns)
    keys: list[str | None] = []
    errors = []
    for position, cell in enumerate(cells, start=1):
        label = normalise_label("" if cell is None else str(cell))
        if not label:
            keys.append(None)
            continue
        key = ROW_NUMBER if label in ROW_NUMBER_LABELS else spellings.get(label)
        if key is None:
            errors.append(RowError(row, f"column {position}", str(cell), "unknown column: use the template's headers"))
        elif key in keys and key != ROW_NUMBER:
            errors.append(RowError(row, f"column {position}", str(cell), f"column {key} appears twice"))
        keys.append(key)
    for column in columns:
        if column.required and column.key not in keys:
            errors.append(RowError(row, column.key, None, f"missing column {column.header}"))
    if errors:
        raise SubmissionRejected(errors)
    return keys


def _rows_from_cells(
    cell_rows: Iterator[list[object]], columns: tuple[Column, ...]
) -> Iterator[tuple[int, list[object], list[RowError]]]:
    """(row number, cells in `columns` order with None where absent, problems) for each non-blank row. The
    header is the first row naming the required columns among the first TITLE_ROWS (the rows above it, a
    sheet's title and such, are read past); with none, the first non-blank row, whose errors say why."""
    header, first_row, cell_rows = _find_header(cell_rows, columns)
    if header is None:
        raise file_rejected("the file is empty")
    keys = _header_map(list(header), columns, first_row)
    positions = [keys.index(c.key) if c.key in keys else None for c in columns]
    width = len(keys)
    unnamed = [p for p, key in enumerate(keys) if key is None]  # blank header cells must stay blank
    seen = 0
    for row_no, cells in enumerate(cell_rows, start=first_row + 1):
        if not any(cells):
            continue  # blank lines are not rows
        seen += 1
        problems = []
        if len(cells) > width or unnamed:
            for position in [*unnamed, *range(width, len(cells))]:
                cell = cells[position] if position < len(cells) else None
                if cell not in (None, "") and not (isinstance(cell, str) and not cell.strip()):
                    problems.append(
                        RowError(row_no, f"column {position + 1}", str(cell), "a value outside the columns")
                    )
        count = len(cells)
        values = [cells[p] if p is not None and p < count else None for p in positions]
        for index, (column, value) in enumerate(zip(columns, values, strict=True)):
            if isinstance(value, MergedValue):
                values[index] = value.value
                if column.per_row:
                    problems.append(RowError(row_no, column.key, _shown(value.value), _merged_refused(value)))
        yield row_no, values, problems
    if seen == 0:
        raise file_rejected("the file has a header but no data rows", row=first_row + 1)


def _find_header(
    cell_rows: Iterator[list[object]], columns: tuple[Column, ...]
) -> tuple[list[object] | None, int, Iterator[list[object]]]:
    """The header row, its row number, and the rows after it (see `_rows_from_cells`)."""
    required = {c.key for c in columns if c.required}
    spellings = _spellings(columns)
    looked: list[list[object]] = []
    for cells in itertools.islice(cell_rows, TITLE_ROWS):
        cells = [None if isinstance(c, MergedValue) else c for c in cells]  # a title or header: as it was typed
        looked.append(cells)
        named = {spellings.get(normalise_label(str(cell))) for cell in cells if cell not in (None, "")}
        if required <= named:
            return cells, len(looked), cell_rows
    rows = iter(looked)
    for row_no, cells in enumerate(rows, start=1):  # no header found: the first non-blank row is taken as one
        if any(c not in (None, "") for c in cells):
            return cells, row_no, itertools.chain(rows, cell_rows)
    return None, 0, cell_rows


def _csv_cells(stream: IO[bytes]) -> Iterator[list[object]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    line = 0
    try:
        first = text.readline()
        delimiter = ";" if first.count(";") > first.count(",") else ","  # Excel in some locales writes ';'
        for line, cells in enumerate(csv.reader(itertools.chain([first], text), delimiter=delimiter), start=1):  # noqa: B007 - `line` names the failing row below
            yield list(cells)
    except UnicodeDecodeError:
        raise file_rejected(
            "the file is not UTF-8 text (Vietnamese letters would be garbled): save it as 'CSV UTF-8'",
            row=line + 1,
            status=415,
        ) from None
    except csv.Error as error:
        raise file_rejected(f"not a well-formed CSV file: {error}", row=line + 1) from None


def check_xlsx_is_safe(path: Path) -> None:
    """Refuse a spreadsheet that would unpack to far more than it weighs, before opening it."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile:
        raise file_rejected("not a readable XLSX file (the zip container is damaged)", status=415) from None
    total = sum(e.file_size for e in entries)
    if len(entries) > 10_000 or total > MAX_XLSX_UNCOMPRESSED:
        raise file_rejected(f"the spreadsheet unpacks to {total:,} bytes: refused as a possible zip bomb", status=413)
    for entry in entries:
        if entry.file_size > 1024 * 1024 and entry.file_size > MAX_XLSX_RATIO * max(entry.compress_size, 1):
            raise file_rejected(
                f"{entry.filename} is compressed {entry.file_size // max(entry.compress_size, 1)}:1:"
                " refused as a possible zip bomb",
                status=413,
            )


def _xlsx_cells(path: Path) -> Iterator[list[object]]:
    import openpyxl  # imported here: only spreadsheet imports pay for it

    check_xlsx_is_safe(path)
    merges = merged_ranges(path)
    with path.open("rb") as stream:  # a stream, not a path: openpyxl would insist on a .xlsx file name
        try:
            workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds on a damaged file
            raise file_rejected(f"not a readable XLSX file: {error}", status=415) from None
        try:
            sheet = workbook.worksheets[0]
            yield from _merged_filled((list(cells) for cells in sheet.iter_rows(values_only=True)), merges)
        finally:
            workbook.close()


@dataclass(frozen=True, order=True)
class MergedRange:
    first_row: int
    last_row: int
    first_column: int  # 1-based, as in the sheet
    last_column: int


@dataclass(frozen=True)
class MergedValue:
    """A cell covered by a merged cell (not its first): the merged cell's value, as the sheet shows it."""

    value: object
    merged: MergedRange


_TAG_AT_MOST = 512  # bytes: longer than any <mergeCell …/> tag
_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+)([0-9]+):([A-Z]+)([0-9]+)"')


def merged_ranges(path: Path) -> list[MergedRange]:
    """The first sheet's merged cells, read from its XML: openpyxl's read-only mode, which streams rows,
    does not give them. They are listed after the rows, so the sheet is scanned once before it is read."""
    from openpyxl.utils import column_index_from_string

    sheet = _first_sheet_part(path)
    if sheet is None:
        return []
    found: list[tuple[bytes, ...]] = []
    with zipfile.ZipFile(path) as archive, archive.open(sheet) as xml:
        tail = b""
        while True:
            block = xml.read(1 << 20)
            text = tail + block
            # A tag starting in the last bytes may be cut by the block's end: it is read with the next block.
            limit = len(text) - _TAG_AT_MOST if block else len(text)
            found += [m.groups() for m in _MERGE_REF.finditer(text) if m.start() < limit]
            if not block:
                break
            tail = text[max(limit, 0) :]
    return sorted(
        MergedRange(int(r1), int(r2), column_index_from_string(c1.decode()), column_index_from_string(c2.decode()))
        for c1, r1, c2, r2 in found
    )


def _first_sheet_part(path: Path) -> str | None:
    """The zip entry of the workbook's first sheet (the one imported), through the workbook's relations."""
    import xml.etree.ElementTree as ElementTree

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    relation = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    try:
        with zipfile.ZipFile(path) as archive:
            workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return None  # not the usual layout: the sheet is read without its merges
    sheet = workbook.find(f"{main}sheets/{main}sheet")
    if sheet is None:
        return None
    target = next((r.get("Target") for r in rels if r.get("Id") == sheet.get(relation)), None)
    if target is None:
        return None
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _merged_filled(rows: Iterator[list[object]], merges: list[MergedRange]) -> Iterator[list[object]]:
    """The rows with each merged cell's value on every row it covers, in its first column, as `MergedValue`:
    a unit code merged down over a province's rows is that unit's on each of them, as the clerk sees it.
    The other columns a merge spans stay empty: a value typed once belongs to one column."""
    starting: dict[int, list[MergedRange]] = {}
    for merged in merges:
        starting.setdefault(merged.first_row, []).append(merged)
    open_merges: list[tuple[MergedRange, object]] = []
    for row_no, cells in enumerate(rows, start=1):
        for merged in starting.pop(row_no, []):
            first = merged.first_column - 1
            value = cells[first] if first < len(cells) else None
            if value not in (None, ""):  # an empty merged cell leaves its rows as blank as they look
                open_merges.append((merged, value))
        open_merges = [(m, v) for m, v in open_merges if m.last_row >= row_no]
        for merged, value in open_merges:
            if row_no > merged.first_row:
                if len(cells) < merged.first_column:
                    cells += [None] * (merged.first_column - len(cells))
                cells[merged.first_column - 1] = MergedValue(value, merged)
        yield cells


def _merged_refused(value: MergedValue) -> str:
    rows = f"{value.merged.first_row}–{value.merged.last_row}"
    return (
        f"ô gộp (merge) các dòng {rows}: mỗi dòng cần số tiền riêng, hãy bỏ gộp và điền từng dòng /"
        f" a merged cell over rows {rows}: each row needs its own amount, unmerge it and fill every row"
    )


def _shown(value: object) -> str | None:
    return None if value is None else str(value)


def read_rows(
    path: Path, columns: tuple[Column, ...] = FIGURE_COLUMNS, on_rows: Callable[[int, bool], None] | None = None
) -> Iterator[tuple[int, list[object], list[RowError]]]:
    """Rows of a CSV or XLSX file as (row number, cells in `columns` order, problems), streamed.
    `on_rows` hears how many rows have been read, every thousand, and at the end that reading is done (for
    a progress bar)."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise file_rejected(f"the file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}", status=413)
    if size == 0:
        raise file_rejected("the file is empty")
    with path.open("rb") as stream:
        is_xlsx = stream.read(4) == XLSX_MAGIC
        stream.seek(0)
        read = 0
        for read, row in enumerate(_rows_from_cells(_xlsx_cells(path) if is_xlsx else _csv_cells(stream), columns), 1):
            if on_rows is not None and read % HEARD_EVERY == 0:
                on_rows(read, False)
            yield row
        if on_rows is not None:
            on_rows(read, True)


def count_rows(path: Path) -> int | None:
    """About how many rows below the header the file holds, for a progress bar's total: a CSV's lines less
    one, an XLSX's first sheet as its size is recorded in the file (None where it records none)."""
    with path.open("rb") as stream:
        if stream.read(4) == XLSX_MAGIC:
            return _xlsx_rows(path)
        stream.seek(0)
        lines = sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b""))
    return max(lines - 1, 0)


def _xlsx_rows(path: Path) -> int | None:
    import openpyxl

    try:
        check_xlsx_is_safe(path)
    except SubmissionRejected:
        return None  # the import itself will say what is wrong
    with path.open("rb") as stream:
        try:
            workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        except Exception:  # a damaged file: the import will say so
            return None
        try:
            rows = workbook.worksheets[0].max_row
        finally:
            workbook.close()
    return None if rows is None else max(rows - 1, 0)
