"""Figure files (CSV, XLSX) through the HTTP upload and `pim import`, against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
import unicodedata
import zipfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import openpyxl
import openpyxl.utils
import pytest

from services.ingest.errors import SubmissionRejected
from services.ingest.files import FIGURE_COLUMNS, MAX_FILE_BYTES, read_rows
from shared.settings import Settings
from tests.integration.ingest_fixtures import Ingest
from tests.integration.receivers import serving

pytestmark = pytest.mark.postgres

HEADERS_VI = [c.vietnamese for c in FIGURE_COLUMNS if c.required]  # unit, indicator, year, category, date, amount
GOOD = [
    ["lam-dong", "giải ngân", "2025", "central_budget", "31/05/2025", "1.234.567.000"],
    ["lam-dong", "giải ngân", "2025", "local_budget", "31/05/2025", "765,433,000"],
    ["da-lat", "thu ngân sách", "2025", "fees_and_charges", "2025-05-31", "12000000"],
]


def csv_bytes(rows: list[list[str]], header: list[str] = HEADERS_VI, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    if encoding == "cp1258":  # Windows' Vietnamese code page spells tones as combining marks
        return unicodedata.normalize("NFD", text).encode(encoding, errors="replace")
    return text.encode(encoding)


async def upload(ingest: Ingest, data: bytes, headers: dict[str, str] | None = None, **params: str):  # type: ignore[no-untyped-def]
    return await ingest.client.post(
        "/v1/imports/figures", content=data, headers={**ingest.lam_dong, **(headers or {})}, params=params
    )


async def test_a_clerks_csv_with_vietnamese_headers_is_imported(ingest: Ingest) -> None:
    response = await upload(ingest, csv_bytes(GOOD))
    assert response.status_code == 201, response.text
    assert response.json()["stored"] == 3 and response.json()["errors"] == []
    async with ingest.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT channel, payload FROM events WHERE event_type LIKE '%Reported' ORDER BY position"
        )
    assert [r["payload"]["amount"] for r in rows] == ["1234567000", "765433000", "12000000"]
    assert {r["channel"] for r in rows} == {"http-upload"}


async def test_the_same_file_twice_is_stored_once(ingest: Ingest) -> None:
    first = await upload(ingest, csv_bytes(GOOD))
    again = await upload(ingest, csv_bytes(GOOD))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["duplicate"] and again.json()["first_position"] == first.json()["first_position"]


async def test_one_bad_row_stores_nothing_and_every_bad_row_is_reported(ingest: Ingest) -> None:
    rows = [
        *GOOD,
        ["hue", "giải ngân", "2025", "oda", "2025-05-31", "1"],
        ["lam-dong", "giải ngân", "2025", "oda", "2025-05-31", "1.234"],
    ]
    before = await ingest.event_count()
    response = await upload(ingest, csv_bytes(rows))
    # a row outside the department's scope and a bad amount: 422 with both, not a 403 that hides the other
    assert response.status_code == 422
    assert {(e["row"], e["field"]) for e in response.json()["errors"]} == {(5, "unit_code"), (6, "amount")}
    assert await ingest.event_count() == before
    only_scope = await upload(ingest, csv_bytes([*GOOD, ["hue", "giải ngân", "2025", "oda", "2025-05-31", "1"]]))
    assert only_scope.status_code == 403  # being out of scope is all that is wrong
    assert [(e["row"], e["field"]) for e in only_scope.json()["errors"]] == [(5, "unit_code")]
    partial = await upload(ingest, csv_bytes(rows), store_valid="true")
    assert partial.status_code == 201
    assert (partial.json()["stored"], partial.json()["rejected"]) == (3, 2)
    assert await ingest.event_count() == before + 3


@pytest.mark.parametrize("column", ["project_code", "correction_reason"])
async def test_a_nul_in_a_files_text_cell_is_refused_naming_its_row_and_column(ingest: Ingest, column: str) -> None:
    by_key = {c.key: c for c in FIGURE_COLUMNS}
    header = [*HEADERS_VI, by_key[column].vietnamese]
    before = await ingest.event_count()
    response = await upload(ingest, csv_bytes([[*GOOD[0], "DA\x001"], [*GOOD[1], ""]], header=header))
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["row"], error["field"]) == (2, column) and "NUL" in error["reason"]
    assert await ingest.event_count() == before


async def test_missing_and_extra_columns_are_named(ingest: Ingest) -> None:
    header = [h for h in HEADERS_VI if h != "Số tiền (đồng)"] + ["Ghi chú"]
    response = await upload(ingest, csv_bytes([[*row[:5], "note"] for row in GOOD], header=header))
    assert response.status_code == 422
    problems = {(e["row"], e["field"], e["value"]) for e in response.json()["errors"]}
    assert problems == {(1, "column 6", "Ghi chú"), (1, "amount", None)}


async def test_a_file_not_in_utf8_is_refused_with_advice(ingest: Ingest) -> None:
    response = await upload(ingest, csv_bytes(GOOD, encoding="cp1258"))
    assert response.status_code == 415
    assert "UTF-8" in response.json()["errors"][0]["reason"]


@pytest.mark.parametrize(("data", "reason"), [(b"", "empty"), (csv_bytes([]), "no data rows")])
async def test_an_empty_file_is_refused(ingest: Ingest, data: bytes, reason: str) -> None:
    response = await upload(ingest, data)
    assert response.status_code == 422 and reason in response.json()["errors"][0]["reason"]


async def test_an_upload_over_100_mb_is_refused_while_streaming(ingest: Ingest) -> None:
    async def too_big() -> AsyncIterator[bytes]:
        block = b"x" * (1 << 20)
        for _ in range(MAX_FILE_BYTES // len(block) + 2):
            yield block

    before = await ingest.event_count()
    response = await ingest.client.post("/v1/imports/figures", content=too_big(), headers=ingest.lam_dong)
    assert response.status_code == 413
    assert await ingest.event_count() == before


def test_a_file_over_100_mb_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as out:
        out.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written, nothing would be read
    with pytest.raises(SubmissionRejected) as refused:
        next(read_rows(big))
    assert refused.value.status == 413


async def test_a_spreadsheet_zip_bomb_is_refused_before_it_is_opened(ingest: Ingest) -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (40 * 1024 * 1024))
    response = await upload(ingest, bomb.getvalue())
    assert response.status_code == 413
    assert "zip bomb" in response.json()["errors"][0]["reason"]


async def test_the_xlsx_template_filled_in_is_imported(ingest: Ingest) -> None:
    template = await ingest.client.get("/v1/templates/figures.xlsx")
    assert template.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(template.content))
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header[0] == "Mã đơn vị (unit_code)" and "Số tiền (đồng) (amount)" in header
    by_key = {c.key: i for i, c in enumerate(FIGURE_COLUMNS)}
    row: list[object] = [None] * len(FIGURE_COLUMNS)
    for key, value in (("unit_code", "da-lat"), ("indicator", "Giải ngân"), ("plan_year", 2025),
                       ("category", "local_budget"), ("as_of", "30/06/2025"), ("amount", 987654321000)):  # fmt: skip
        row[by_key[key]] = value
    sheet.append(row)
    filled = io.BytesIO()
    workbook.save(filled)
    response = await upload(ingest, filled.getvalue())
    assert response.status_code == 201, response.text
    async with ingest.pool.acquire() as conn:
        payload = await conn.fetchval("SELECT payload FROM events ORDER BY position DESC LIMIT 1")
    assert (payload["unit_code"], payload["amount"], payload["as_of"]) == ("da-lat", "987654321000", "2025-06-30")


async def test_a_units_name_typed_for_its_code_gets_the_code_it_meant(ingest: Ingest) -> None:
    response = await upload(ingest, csv_bytes([["Lâm Đồng", *GOOD[0][1:]]]))
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["row"], error["field"], error["value"]) == (2, "unit_code", "Lâm Đồng")
    assert "có phải 'lam-dong'?" in error["reason"] and "did you mean 'lam-dong'?" in error["reason"]


async def test_a_sheet_with_a_title_above_the_header_and_an_stt_column_is_read(ingest: Ingest) -> None:
    """As official spreadsheets are laid out: a title and the period above the header, a row-number column."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["BÁO CÁO TÌNH HÌNH GIẢI NGÂN VỐN ĐẦU TƯ CÔNG"])
    sheet.append(["Tháng 5 năm 2025"])
    sheet.append([])
    sheet.append(["STT", *HEADERS_VI])
    for number, row in enumerate(GOOD, start=1):
        sheet.append([number, *row])
    data = io.BytesIO()
    workbook.save(data)
    response = await upload(ingest, data.getvalue())
    assert response.status_code == 201, response.text
    assert response.json()["stored"] == 3


def xlsx_bytes(rows: Sequence[Sequence[object]], merges: tuple[str, ...] = ()) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADERS_VI)
    for row in rows:
        sheet.append(list(row))
    for merged in merges:
        sheet.merge_cells(merged)
    data = io.BytesIO()
    workbook.save(data)
    return data.getvalue()


async def test_a_unit_code_merged_down_over_rows_is_read_on_each_of_them(ingest: Ingest) -> None:
    rows: list[list[object]] = [
        list(GOOD[0]),
        [None, *GOOD[1][1:]],
        [None, "giải ngân", "2025", "oda", "31/05/2025", "5"],
    ]
    before = await ingest.event_count()
    response = await upload(ingest, xlsx_bytes(rows, merges=("A2:A4",)))
    assert response.status_code == 201, response.text  # before: 422, "unit_code missing" on rows 3 and 4
    assert response.json()["stored"] == 3
    async with ingest.pool.acquire() as conn:
        units = await conn.fetch("SELECT stream_id FROM events WHERE position > $1", before)
    assert [r["stream_id"] for r in units] == ["lam-dong"] * 3


async def test_merged_titles_headers_and_empty_cells_read_as_they_look(ingest: Ingest) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["BÁO CÁO GIẢI NGÂN THÁNG 5/2025"])  # a title merged across the columns
    sheet.append([*HEADERS_VI, None])  # the amount's header merged over one more column, as its cells are
    sheet.append(GOOD[0])
    sheet.append([])  # an empty merged block between rows
    sheet.append([])
    sheet.append(GOOD[1])
    sheet.append(GOOD[2])
    sheet.append([None, None, *GOOD[2][2:4], "30/04/2025", "6000000"])  # its indicator merged down; no unit
    for merged in ("A1:G1", "F2:G2", "F3:G3", "A4:F5", "F6:G6", "B7:B8"):
        sheet.merge_cells(merged)
    data = io.BytesIO()
    workbook.save(data)
    response = await upload(ingest, data.getvalue(), store_valid="true")
    assert response.status_code == 201, response.text
    # Only the unit left empty is wrong: the indicator was read from its merge, a merge's other columns are
    # empty (nothing outside the columns), the empty block is no row.
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(8, "unit_code")]
    assert response.json()["stored"] == 3


async def test_an_amount_merged_over_rows_is_refused_with_what_to_do(ingest: Ingest) -> None:
    rows: list[list[object]] = [list(GOOD[0]), [*GOOD[1][:-1], None]]
    response = await upload(ingest, xlsx_bytes(rows, merges=("F2:F3",)))
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["row"], error["field"], error["value"]) == (3, "amount", GOOD[0][-1])
    assert "ô gộp" in error["reason"] and "merged cell over rows 2–3" in error["reason"]


async def test_an_empty_required_cell_says_what_a_merged_or_formula_cell_needs(ingest: Ingest) -> None:
    # A formula written by a program, never calculated: the file holds no value for it.
    response = await upload(ingest, xlsx_bytes([GOOD[0], ["=A2", *GOOD[1][1:]]]))
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["row"], error["field"]) == (3, "unit_code")
    assert "ô gộp" in error["reason"] and "unmerge it and fill every row" in error["reason"]
    assert "formula cell" in error["reason"]


async def test_the_xlsx_template_guides_a_clerk_and_its_examples_import_as_they_are(ingest: Ingest) -> None:
    template = await ingest.client.get("/v1/templates/figures.xlsx", headers=ingest.lam_dong)
    workbook = openpyxl.load_workbook(io.BytesIO(template.content))
    figures, example = workbook["Số liệu (figures)"], workbook["Ví dụ (example)"]
    assert figures.freeze_panes == "A2"
    letters = {c.key: openpyxl.utils.get_column_letter(n) for n, c in enumerate(FIGURE_COLUMNS, start=1)}
    lists = {str(v.sqref).split(":")[0][:-1]: v.formula1 for v in figures.data_validations.dataValidation}
    assert {letters[k] for k in ("indicator", "category", "amount_kind", "unit_code")} <= set(lists)
    units = [tuple(row) for row in workbook["Đơn vị (units)"].iter_rows(min_row=2, values_only=True)]
    assert units == [("da-lat", "Thành phố Đà Lạt"), ("lam-dong", "Tỉnh Lâm Đồng")]  # the token's, not Huế
    guide = [row[3] for row in workbook["Hướng dẫn (guide)"].iter_rows(min_row=2, max_row=2, values_only=True)]
    assert guide[0].startswith("mã đơn vị") and " / the unit's code" in guide[0]  # Vietnamese first
    for row in example.iter_rows(min_row=2, values_only=True):  # the examples, copied to the figures sheet
        figures.append(list(row))
    filled = io.BytesIO()
    workbook.save(filled)
    response = await upload(ingest, filled.getvalue())
    assert response.status_code == 201, response.text
    assert response.json()["stored"] == example.max_row - 1 == 3


async def test_the_csv_template_has_bilingual_headers(ingest: Ingest) -> None:
    template = await ingest.client.get("/v1/templates/figures.csv")
    header = next(csv.reader(io.StringIO(template.content.decode("utf-8-sig"))))
    assert header == [c.header for c in FIGURE_COLUMNS]


async def test_pim_import_talks_to_the_api_with_a_token_reports_rejected_rows_and_stores_nothing(
    ingest: Ingest, tmp_path: Path
) -> None:
    """A clerk's machine has a token and the API's address, no database login (no DATABASE_URL here)."""
    path = tmp_path / "bao-cao-thang-5.csv"
    path.write_bytes(csv_bytes([*GOOD, ["lam-dong", "giải ngân", "2025", "oda", "2026-05-31", "-5"]]))
    token = ingest.lam_dong["Authorization"].removeprefix("Bearer ")
    pim = str(Path(sys.executable).with_name("pim"))
    before = await ingest.event_count()
    async with serving(ingest.client._transport.app) as url:  # type: ignore[attr-defined]
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"PIM_TOKEN": token, "PIM_API_URL": url}

        async def run(*args: str) -> subprocess.CompletedProcess[str]:
            return await asyncio.to_thread(subprocess.run, [pim, *args], env=env, capture_output=True, text=True)

        refused = await run("import", str(path))
        assert refused.returncode == 1, refused.stdout + refused.stderr
        report = list(csv.DictReader((tmp_path / "bao-cao-thang-5.csv.rejected.csv").open(encoding="utf-8-sig")))
        assert {(r["row"], r["field"]) for r in report} == {("5", "as_of"), ("5", "amount")}
        assert await ingest.event_count() == before
        stored = await run("import", str(path), "--store-valid")
        assert stored.returncode == 0, stored.stdout + stored.stderr
        assert "Stored 3 of 4 rows" in stored.stdout
        assert await ingest.event_count() == before + 3
        wrong = await run("import", str(path), "--token", "not-a-token")
        assert wrong.returncode == 1 and "401" in wrong.stdout


async def test_an_upload_asked_for_its_progress_streams_lines_then_the_plain_answer(ingest: Ingest) -> None:
    bad = csv_bytes([*GOOD, ["lam-dong", "giải ngân", "2025", "oda", "31/11/2025", "5"]])
    plain = await upload(ingest, bad)
    streamed = await upload(ingest, bad, headers={"Accept": "application/x-ndjson"})
    assert streamed.status_code == 200 and streamed.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in streamed.text.splitlines()]
    assert all("progress" in line for line in lines[:-1])
    assert lines[-1] == {"status": plain.status_code, "body": plain.json()} and plain.status_code == 422
    before = await ingest.event_count()
    good = await upload(ingest, csv_bytes(GOOD), headers={"Accept": "application/x-ndjson"})
    last = json.loads(good.text.splitlines()[-1])
    assert last["status"] == 201 and last["body"]["stored"] == len(GOOD)
    assert await ingest.event_count() == before + len(GOOD)
    again = await upload(ingest, csv_bytes(GOOD))  # the same file, plainly: answered from the streamed import
    assert again.status_code == 200 and again.json()["duplicate"]


async def test_pim_tokens_create_list_revoke(ingest: Ingest, settings: Settings) -> None:
    env = {**os.environ, "DATABASE_URL": str(settings.database_url)}
    pim = str(Path(sys.executable).with_name("pim"))

    async def run(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(subprocess.run, [pim, *args], env=env, capture_output=True, text=True)

    created = await run("tokens", "create", "so-tai-chinh-huế", "--role", "department", "--unit", "hue")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    assert (await ingest.client.post("/v1/figures", json={"disbursements": []}, headers=headers)).status_code == 422
    listed = await run("tokens", "list")
    assert "so-tai-chinh-huế" in listed.stdout and token.split("_", 2)[2] not in listed.stdout
    revoked = await run("tokens", "revoke", token.split("_")[1])
    assert revoked.returncode == 0, revoked.stdout
    assert (await ingest.client.post("/v1/figures", json={"disbursements": []}, headers=headers)).status_code == 401


async def test_a_file_sent_as_a_form_field_is_read_like_the_body_and_openapi_documents_both(ingest: Ingest) -> None:
    before = await ingest.event_count()
    form = await ingest.client.post(
        "/v1/imports/figures", files={"file": ("bao-cao-thang-5.csv", csv_bytes(GOOD), "text/csv")},
        headers=ingest.lam_dong,
    )  # fmt: skip
    assert form.status_code == 201, form.text  # as `curl -F file=@bao-cao-thang-5.csv` sends it
    assert await ingest.event_count() == before + len(GOOD)
    no_file = b'--b\r\nContent-Disposition: form-data; name="note"\r\n\r\nx\r\n--b--\r\n'  # a form with a note only
    form_headers = {**ingest.lam_dong, "Content-Type": "multipart/form-data; boundary=b"}
    empty = await ingest.client.post("/v1/imports/figures", content=no_file, headers=form_headers)
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "file"
    body = ingest.client._transport.app.openapi()["paths"]["/v1/imports/figures"]["post"]["requestBody"]  # type: ignore[attr-defined]
    assert set(body["content"]) == {
        "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "multipart/form-data"
    }  # fmt: skip
