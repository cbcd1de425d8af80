import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from services.ingest.errors import ErrorLog
from services.ingest.figure_rows import (
    FigureRow,
    check_figure,
    parse_date_cell,
    parse_figure_cells,
    parse_money_cell,
    parse_money_text,
)
from shared.categories import known_categories
from shared.events import FigureLine, Indicator

TODAY = dt.date(2025, 11, 15)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1234567", Decimal(1234567)),
        ("1.234.567", Decimal(1234567)),
        ("1,234,567", Decimal(1234567)),
        ("1.234.567,5", Decimal("1234567.5")),
        ("1,234,567.50", Decimal("1234567.50")),
        ("1234,5", Decimal("1234.5")),
        ("1234.5", Decimal("1234.5")),
        ("-1.000.000", Decimal(-1000000)),
        (" 1 234 567 ", Decimal(1234567)),
    ],
)
def test_money_spellings_clerks_use_are_read_exactly(text: str, amount: Decimal) -> None:
    assert parse_money_text(text) == amount


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.234", "ambiguous"),
        ("1,234", "ambiguous"),
        ("1.23.456", "groups of three"),
        ("12,34,567", "groups of three"),
        ("1,234.567,89", "not a number"),
        ("1234.567", "groups of three"),
        ("1234.5678", "decimal places"),
        ("12a", "not a number"),
        ("", "empty"),
    ],
)
def test_money_spellings_that_could_be_misread_are_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_money_text(text)


def test_spreadsheet_numbers_are_taken_only_when_exact() -> None:
    assert parse_money_cell(4200000000000.0) == Decimal(4200000000000)
    assert parse_money_cell(1234.5) == Decimal("1234.5")
    with pytest.raises(ValueError, match="not exact"):
        parse_money_cell(2.0**60)
    with pytest.raises(ValueError, match="not exact"):
        parse_money_cell(0.125)


def test_dates_in_iso_and_vietnamese_order() -> None:
    assert parse_date_cell("2025-10-31") == parse_date_cell("31/10/2025") == dt.date(2025, 10, 31)
    assert parse_date_cell(dt.datetime(2025, 10, 31, 0, 0)) == dt.date(2025, 10, 31)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_date_cell("31-10-2025")


def figure(**changes: object) -> FigureRow:
    fields: dict[str, object] = {
        "row": 2, "indicator": Indicator.DISBURSEMENT, "unit_code": "hue", "plan_year": 2025,
        "category": "central_budget", "project_code": "", "as_of": dt.date(2025, 10, 31),
        "amount_kind": "cumulative", "amount": Decimal(100), "correction_reason": None,
    }  # fmt: skip
    fields.update(changes)
    return FigureRow(**fields)  # type: ignore[arg-type]


def test_disbursement_may_be_reported_until_31_january_of_the_next_year() -> None:
    assert check_figure(figure(as_of=dt.date(2026, 1, 31)), dt.date(2026, 3, 1)) == []
    errors = check_figure(figure(as_of=dt.date(2026, 2, 1)), dt.date(2026, 3, 1))
    assert [(e.field, e.value) for e in errors] == [("as_of", "2026-02-01")]
    assert "2025-01-01 – 2026-01-31" in errors[0].reason


def test_revenue_belongs_to_its_fiscal_year() -> None:
    errors = check_figure(
        figure(indicator=Indicator.BUDGET_REVENUE, category="taxes", as_of=dt.date(2026, 1, 15)), dt.date(2026, 3, 1)
    )
    assert errors and errors[0].field == "as_of"


def test_a_date_in_the_future_is_refused() -> None:
    errors = check_figure(figure(as_of=dt.date(2025, 11, 30)), TODAY)
    assert [e.reason for e in errors] == ["in the future (today is 2025-11-15)"]


def test_negative_amounts_need_a_correction_and_never_as_a_cumulative() -> None:
    assert check_figure(figure(amount=Decimal(-5)), TODAY)[0].reason.startswith("negative")
    recovery = figure(amount=Decimal(-5), amount_kind="period", correction_reason="thu hồi vốn tạm ứng")
    assert check_figure(recovery, TODAY) == []
    assert check_figure(figure(amount=Decimal(-5), correction_reason="sửa số"), TODAY)[0].reason.startswith(
        "a cumulative"
    )


def test_a_row_reports_every_problem_with_row_field_value_and_reason() -> None:
    errors = ErrorLog()
    cells = {"unit_code": "hue!", "indicator": "giải ngân", "plan_year": "20x5", "category": "central_budget",
             "as_of": "2025-13-01", "amount": "1.234"}  # fmt: skip
    assert parse_figure_cells(cells, 7, errors) is None
    assert {(e.row, e.field, e.value) for e in errors.kept} == {
        (7, "unit_code", "hue!"), (7, "plan_year", "20x5"), (7, "as_of", "2025-13-01"), (7, "amount", "1.234"),
    }  # fmt: skip


def test_vietnamese_spellings_of_indicator_and_kind_are_understood() -> None:
    errors = ErrorLog()
    cells = {"unit_code": "hue", "indicator": "Thu ngân sách", "plan_year": "2025", "category": "taxes",
             "as_of": "31/10/2025", "amount_kind": "Phát sinh", "amount": "1.234.567"}  # fmt: skip
    row = parse_figure_cells(cells, 3, errors)
    assert row is not None and not errors
    assert (row.indicator, row.amount_kind, row.amount) == (Indicator.BUDGET_REVENUE, "period", Decimal(1234567))


def test_an_unknown_category_is_refused_with_the_nearest_known_one() -> None:
    (error,) = check_figure(figure(category="central_budjet"), TODAY)
    assert (error.field, error.value) == ("category", "central_budjet")
    assert "unknown capital source 'central_budjet'; did you mean 'central_budget'?" in error.reason
    (revenue,) = check_figure(figure(indicator=Indicator.BUDGET_REVENUE, category="central_budget"), TODAY)
    assert revenue.reason.startswith("unknown revenue category 'central_budget'")  # not a revenue category


def test_a_declared_category_is_known() -> None:
    known = known_categories([("public_investment_disbursement", "provincial_bonds")])
    assert check_figure(figure(category="provincial_bonds"), TODAY, known) == []
    assert check_figure(figure(category="provincial_bonds"), TODAY) != []  # only where it was declared


def test_a_figure_row_is_its_row_number_then_the_shared_figure_line() -> None:
    assert FigureRow._fields == ("row", *FigureLine._fields)


def test_a_rejected_rows_report_never_echoes_a_cell_a_spreadsheet_would_run(tmp_path: Path) -> None:
    from services.ingest.cli import RejectedRowsReport
    from services.ingest.errors import RowError

    report = RejectedRowsReport(tmp_path / "report.csv")
    report(RowError(2, "unit_code", "=cmd|' /C calc'!A0", "unknown unit"))
    report(RowError(3, "amount", "-5", "negative: only a correction with a reason may be"))
    report(RowError(4, "category", "@SUM(A1:A9)", "unknown category"))
    report.close()
    rows = list(csv.reader((tmp_path / "report.csv").open(encoding="utf-8-sig")))
    assert [r[2] for r in rows[1:]] == ["'=cmd|' /C calc'!A0", "-5", "'@SUM(A1:A9)"]


@pytest.mark.parametrize("text", ["١٢٣", "１２３", "12³", "١.٢٣٤.٥٦٧"])
def test_amounts_take_ascii_digits_only(text: str) -> None:
    with pytest.raises(ValueError):
        parse_money_text(text)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("5.500.000.000.000 đ", Decimal(5_500_000_000_000)),
        ("5.500.000.000.000 đồng", Decimal(5_500_000_000_000)),
        ("5500000000000 VND", Decimal(5_500_000_000_000)),
        ("52,5 tỷ", Decimal(52_500_000_000)),
        ("52,5 tỷ đồng", Decimal(52_500_000_000)),
        ("120 triệu đồng", Decimal(120_000_000)),
        ("1,2345 triệu", Decimal("1234500")),
    ],
)
def test_the_currency_and_the_scale_words_clerks_write_are_read(text: str, amount: Decimal) -> None:
    read = parse_money_text(text)
    assert read == amount and "E" not in str(read)  # never 5.25E+10: the payload carries str(amount)


def test_a_scaled_amount_is_still_refused_when_ambiguous_or_too_fine() -> None:
    with pytest.raises(ValueError, match="ambiguous"):
        parse_money_text("1.234 tỷ")
    with pytest.raises(ValueError, match="decimal places"):
        parse_money_text("0,000000000001 tỷ")


def test_money_messages_are_vietnamese_first_with_english_beside() -> None:
    with pytest.raises(ValueError) as refused:
        parse_money_text("1.23.456")
    vietnamese, english = str(refused.value).split(" / ")
    assert "nhóm ba chữ số" in vietnamese and "groups of three digits" in english


@pytest.mark.parametrize("text", ["2025-11-31", "31/11/2025"])
def test_a_day_the_month_does_not_have_is_named_as_such(text: str) -> None:
    with pytest.raises(ValueError, match="November 2025 has 30 days") as refused:
        parse_date_cell(text)
    assert "tháng 11/2025 có 30 ngày" in str(refused.value)
    with pytest.raises(ValueError, match="no month 13"):
        parse_date_cell("2025-13-01")


@pytest.mark.parametrize("cell", ["serial text", "serial number"])
def test_an_excel_date_serial_is_explained_with_the_date_it_stands_for(cell: str) -> None:
    meant = dt.date(2025, 10, 31)
    serial = (meant - dt.date(1899, 12, 30)).days  # Excel's day 0 (its 1900 leap-year bug included)
    with pytest.raises(ValueError, match="Excel date serial") as refused:
        parse_date_cell(str(serial) if cell == "serial text" else float(serial))
    assert "31/10/2025" in str(refused.value) and "2025-10-31" in str(refused.value)
