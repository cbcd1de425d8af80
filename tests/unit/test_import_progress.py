"""An upload's progress by rows read, for CSV and XLSX alike, and the lines the API streams of it."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import openpyxl

from services.ingest.errors import SubmissionRejected
from services.ingest.figure_intake import IntakeResult
from services.ingest.files import FIGURE_COLUMNS, count_rows, read_rows
from services.ingest.import_progress import RowsRead, progress_lines
from shared.api_errors import RowError

HEADER = [c.vietnamese for c in FIGURE_COLUMNS if c.required]
ROW = ["lam-dong", "giải ngân", "2025", "central_budget", "31/05/2025", "1.234.567.000"]


def write_csv(path: Path, rows: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows([ROW] * rows)
    return path


def write_xlsx(path: Path, rows: int) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    for _ in range(rows):
        sheet.append(ROW)
    workbook.save(path)
    return path


def test_csv_and_xlsx_both_report_rows_read_and_their_total(tmp_path: Path) -> None:
    for path in (write_csv(tmp_path / "a.csv", 2_500), write_xlsx(tmp_path / "a.xlsx", 2_500)):
        heard: list[tuple[int, bool]] = []

        def hear(rows: int, done: bool, heard: list[tuple[int, bool]] = heard) -> None:
            heard.append((rows, done))

        assert len(list(read_rows(path, on_rows=hear))) == 2_500
        assert heard == [(1_000, False), (2_000, False), (2_500, True)], path.suffix  # before: XLSX said nothing
        assert count_rows(path) == 2_500, path.suffix


def test_a_damaged_spreadsheet_has_no_total_and_says_nothing_until_read(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    assert count_rows(path) is None


async def _next(lines: object) -> dict[str, object]:
    line = await asyncio.wait_for(lines.__anext__(), timeout=10)  # type: ignore[attr-defined]
    value: dict[str, object] = json.loads(line)
    return value


async def test_the_lines_say_how_far_reading_has_got_then_the_answer() -> None:
    work: asyncio.Future[IntakeResult] = asyncio.get_running_loop().create_future()
    read = RowsRead()
    lines = progress_lines(work, read, 400_000, lambda r: (201, {"stored": r.stored}))
    read(41_000, False)
    assert await _next(lines) == {"progress": {"phase": "reading", "rows_read": 41_000, "rows_total": 400_000}}
    read(400_000, True)  # every row read: checked and stored now
    assert await _next(lines) == {"progress": {"phase": "storing", "rows_read": 400_000, "rows_total": 400_000}}
    work.set_result(IntakeResult(rows=400_000, stored=400_000, rejected=0, errors=[], append=None))
    assert await _next(lines) == {"status": 201, "body": {"stored": 400_000}}


async def test_a_refused_import_ends_with_its_status_and_the_one_error_shape() -> None:
    work: asyncio.Future[IntakeResult] = asyncio.get_running_loop().create_future()
    work.set_exception(SubmissionRejected([RowError(9, "as_of", "31/11/2025", "no such day")]))
    lines = progress_lines(work, RowsRead(), None, lambda r: (201, {}))
    last = await _next(lines)
    assert last["status"] == 422
    assert last["body"] == {
        "detail": "1 error(s); nothing was stored",
        "error_count": 1,
        "errors": [{"row": 9, "field": "as_of", "value": "31/11/2025", "reason": "no such day"}],
    }


def test_merged_cells_are_read_from_a_sheet_however_long(tmp_path: Path) -> None:
    """The merges are listed after a sheet's rows, in an XML read block by block: none is lost or counted
    twice where a block ends, whatever the writer's namespace prefix."""
    import zipfile

    from services.ingest.files import MergedRange, merged_ranges

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    tags = "".join(f'<x:mergeCell ref="A{2 * n + 2}:B{2 * n + 3}"/>' for n in range(60_000))
    path = tmp_path / "merged.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        workbook = f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/>'
        archive.writestr("xl/workbook.xml", workbook + "</sheets></workbook>")
        archive.writestr("xl/_rels/workbook.xml.rels",
                         '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         '<Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>')  # fmt: skip
        archive.writestr("xl/worksheets/sheet1.xml", f'<x:worksheet xmlns:x="{main}"><x:sheetData/>'
                                                     f"<x:mergeCells>{tags}</x:mergeCells></x:worksheet>")  # fmt: skip
    assert len(tags) > 1 << 20  # more than one block
    found = merged_ranges(path)
    assert len(found) == 60_000
    assert found[0] == MergedRange(2, 3, 1, 2) and found[-1] == MergedRange(120_000, 120_001, 1, 2)
