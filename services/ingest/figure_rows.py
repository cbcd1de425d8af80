"""Figure rows as clerks and machines send them: parsing human spellings and the checks that need no
state (plan-year window, future dates, negative amounts). Pure functions, no I/O."""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import NamedTuple

from services.ingest.errors import ErrorLog, RowError
from shared.categories import known_categories, unknown_category
from shared.events import (
    CODE_MAX_LENGTH,
    FIRST_PLAN_YEAR,
    LAST_PLAN_YEAR,
    REASON_MAX_LENGTH,
    UNIT_CODE_PATTERN,
    FigureFields,
    Indicator,
    plan_window,
)
from shared.money import MAX_AMOUNT, MAX_DECIMAL_PLACES
from shared.text import text_problem

DEFAULT_KNOWN = known_categories(())


class FigureRow(NamedTuple):
    """One parsed figure, ready to stage: its row number, then `FigureLine`'s fields in their order (a
    test holds the two equal). The shape every channel converges on; a tuple of its own rather than a
    row number beside a FigureLine, because a million-row import stages a million of them as they are."""

    row: int
    unit_code: str
    indicator: Indicator
    plan_year: int
    category: str
    project_code: str  # '' for the unit as a whole
    as_of: dt.date
    amount_kind: str  # cumulative | period
    amount: Decimal
    correction_reason: str | None
    document_date: dt.date | None = None  # a backfill's source-document date


def normalise_label(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


_INDICATOR_SPELLINGS = {
    normalise_label(spelling): indicator
    for indicator, spellings in {
        Indicator.DISBURSEMENT: (
            "public_investment_disbursement",
            "disbursement",
            "giải ngân",
            "giải ngân vốn đầu tư công",
        ),
        Indicator.BUDGET_REVENUE: ("budget_revenue", "revenue", "thu ngân sách", "thu ngân sách nhà nước"),
    }.items()
    for spelling in spellings
}
_KIND_SPELLINGS = {
    normalise_label(spelling): kind
    for kind, spellings in {
        "cumulative": ("cumulative", "lũy kế", "luỹ kế"),
        "period": ("period", "phát sinh", "trong kỳ"),
    }.items()
    for spelling in spellings
}


def parse_indicator(text: str) -> Indicator:
    try:
        return _INDICATOR_SPELLINGS[normalise_label(text)]
    except KeyError:
        raise ValueError(
            "expected public_investment_disbursement (giải ngân) or budget_revenue (thu ngân sách)"
        ) from None


def parse_amount_kind(text: str) -> str:
    if not text.strip():
        return "cumulative"
    try:
        return _KIND_SPELLINGS[normalise_label(text)]
    except KeyError:
        raise ValueError("expected cumulative (lũy kế) or period (phát sinh)") from None


_GROUPED = {".": re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+"), ",": re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")}


def _digits(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also takes Arabic-Indic (١٢٣), superscript and other digits."""
    return text.isascii() and text.isdigit()


def _both(vietnamese: str, english: str) -> str:
    """A message a clerk reads: Vietnamese first, English beside it."""
    return f"{vietnamese} / {english}"


# What a clerk writes after an amount: the currency (read as it is) or a scale (read, then multiplied).
_SCALES = {"tỷ": 10**9, "tỉ": 10**9, "triệu": 10**6, "nghìn": 10**3, "ngàn": 10**3}
_AMOUNT_WORDS = re.compile(
    r"(?P<number>.*?)\s*(?:(?P<scale>tỷ|tỉ|triệu|nghìn|ngàn)\s*(?:đồng|đ|vnđ|vnd)?|đồng|đ|vnđ|vnd|₫)", re.IGNORECASE
)


def parse_money_text(text: str) -> Decimal:
    """A VND amount typed by a person: "1234567", "1.234.567" (Vietnamese grouping), "1,234,567"
    (English grouping), "1.234.567,5" or "1,234,567.5", with or without the currency after it
    ("5.500.000.000.000 đ", "… đồng", "… VND") or a scale ("52,5 tỷ", "120 triệu đồng"). A lone separator
    followed by three digits ("1.234") could be either a grouping or a decimal point: refused as ambiguous."""
    spelled = unicodedata.normalize("NFC", text).strip()
    if words := _AMOUNT_WORDS.fullmatch(spelled):
        scale = _SCALES[words["scale"].lower()] if words["scale"] else 1
        places = MAX_DECIMAL_PLACES + len(str(scale)) - 1  # 1,2345 triệu is 1.234.500 đ
        amount = _parse_number(words["number"], text, places) * scale
        whole = amount.quantize(Decimal(1))
        if amount != amount.quantize(Decimal(1).scaleb(-MAX_DECIMAL_PLACES)):
            vietnamese = f"{text!r} có quá {MAX_DECIMAL_PLACES} chữ số thập phân sau khi nhân"
            raise ValueError(_both(vietnamese, f"{text!r} has more than {MAX_DECIMAL_PLACES} decimal places"))
        return _bounded(whole if amount == whole else amount, text)  # 52,5 tỷ is 52500000000, not 5.25E+10
    return _bounded(_parse_number(spelled, text), text)


def _bounded(amount: Decimal, text: str) -> Decimal:
    if abs(amount) >= MAX_AMOUNT:
        raise ValueError(_both(f"{text!r} lớn bất thường", f"{text!r} is implausibly large"))
    return amount


def _parse_number(number: str, text: str, places: int = MAX_DECIMAL_PLACES) -> Decimal:
    """The number part of `text`, its separators read as `parse_money_text` says."""
    spelled = number.strip().replace("\u00a0", "").replace(" ", "")
    negative = spelled.startswith("-")
    digits = spelled[1:] if negative else spelled
    if not digits:
        raise ValueError(_both("số tiền trống", "the amount is empty"))
    if _digits(digits):
        whole, fraction = digits, ""
    else:
        dots, commas = digits.count("."), digits.count(",")
        if dots and commas:
            decimal_mark = "," if digits.rfind(",") > digits.rfind(".") else "."
            grouping = "." if decimal_mark == "," else ","
            whole, _, fraction = digits.rpartition(decimal_mark)
            if not _GROUPED[grouping].fullmatch(whole) or not _digits(fraction):
                raise ValueError(_both(f"{text!r} dùng dấu phân cách không thành số",
                                       f"{text!r} mixes separators in a way that is not a number"))  # fmt: skip
            whole = whole.replace(grouping, "")
        else:
            mark = "." if dots else ","
            count = dots or commas
            if count > 1 or (count == 1 and len(digits.rpartition(mark)[2]) == 3):
                if not _GROUPED[mark].fullmatch(digits):
                    raise ValueError(_both(f"{text!r} không phải là số: cần nhóm ba chữ số",
                                           f"{text!r} is not a number: groups of three digits expected"))  # fmt: skip
                if count == 1:
                    raise ValueError(_both(
                        f"{text!r} không rõ: dấu phân cách hàng nghìn hay dấu thập phân? Viết 1234 hoặc 1234,00",
                        f"{text!r} is ambiguous: thousands separator or decimal point? Write 1234 or 1234,00",
                    ))  # fmt: skip
                whole, fraction = digits.replace(mark, ""), ""
            else:
                whole, _, fraction = digits.partition(mark)
                if not _digits(whole) or not _digits(fraction):
                    raise ValueError(_both(f"{text!r} không phải là số", f"{text!r} is not a number"))
    if len(fraction) > places:
        raise ValueError(_both(f"{text!r} có quá {places} chữ số thập phân",
                               f"{text!r} has more than {places} decimal places"))  # fmt: skip
    if len(whole) > 19:  # before Decimal is made of it: a million digits must not be parsed
        raise ValueError(_both(f"{text!r} lớn bất thường", f"{text!r} is implausibly large"))
    return Decimal(f"{'-' if negative else ''}{whole}{'.' + fraction if fraction else ''}")


def parse_money_cell(value: object) -> Decimal:
    """A spreadsheet cell: text as typed, or a number. Spreadsheet numbers are binary floats; they are
    taken only where the float holds the amount exactly (whole numbers below 2**53, or two decimals
    well inside that range)."""
    if isinstance(value, str):
        return parse_money_text(value)
    if isinstance(value, bool):
        raise ValueError("expected an amount, got a true/false cell")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return Decimal(int(value))
        as_text = repr(value)
        if "e" not in as_text and abs(value) < 2**53 / 100 and len(as_text.partition(".")[2]) <= MAX_DECIMAL_PLACES:
            return Decimal(as_text)
        raise ValueError(f"the number {value!r} is not exact in a spreadsheet cell: type it as text")
    raise ValueError(f"expected an amount, got {type(value).__name__}")


EXCEL_EPOCH = dt.date(1899, 12, 30)  # day 0 of Excel's (and LibreOffice's) date serials
_SERIALS = range(20_000, 80_000)  # 1954 – 2119: a whole number here in a date column is a serial
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_VIETNAMESE_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_EXPECTED_DATE = _both("cần ngày dạng DD/MM/YYYY hoặc YYYY-MM-DD", "expected a date as YYYY-MM-DD or DD/MM/YYYY")


def parse_date_cell(value: object) -> dt.date:
    """A date as typed (`31/10/2025`, `2025-10-31`) or a date cell; explains an Excel serial number (a
    date cell formatted as a number) and a day the month does not have."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    serial = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    text = str(value).strip()
    if serial is None and _digits(text):
        serial = int(text)
    if serial is not None and int(serial) == serial and int(serial) in _SERIALS:
        meant = EXCEL_EPOCH + dt.timedelta(days=int(serial))
        raise ValueError(_both(
            f"{int(serial)} là số ngày kiểu Excel (= {meant:%d/%m/%Y}): định dạng ô là ngày hoặc gõ {meant:%d/%m/%Y}",
            f"{int(serial)} is an Excel date serial (= {meant.isoformat()}): format the cell as a date"
            f" or type {meant:%d/%m/%Y}",
        ))  # fmt: skip
    if iso := _ISO_DATE.fullmatch(text):
        year, month, day = (int(part) for part in iso.groups())
    elif vietnamese := _VIETNAMESE_DATE.fullmatch(text):
        day, month, year = (int(part) for part in vietnamese.groups())
    else:
        raise ValueError(_EXPECTED_DATE)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(_no_such_date(text, year, month, day)) from None


def _no_such_date(text: str, year: int, month: int, day: int) -> str:
    if not 1 <= month <= 12:
        return _both(f"{text}: không có tháng {month} (1–12)", f"{text}: there is no month {month} (1–12)")
    days = calendar.monthrange(year, month)[1] if dt.MINYEAR <= year <= dt.MAXYEAR else 31
    return _both(
        f"{text}: không có ngày {day}, tháng {month}/{year} có {days} ngày",
        f"{text}: no such day, {calendar.month_name[month]} {year} has {days} days",
    )


def parse_int_cell(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    if not _digits(text):
        raise ValueError("expected a whole number")
    return int(text)


def check_figure(
    figure: FigureRow, today: dt.date, categories: Mapping[Indicator, set[str]] | None = None
) -> list[RowError]:
    """The checks a figure passes on its own and against the registry's categories (the Ministry's
    classification when None)."""
    errors = []
    unknown = unknown_category(figure.indicator, figure.category, categories or DEFAULT_KNOWN)
    if unknown is not None:
        errors.append(RowError(figure.row, "category", figure.category, unknown))
    first, last = plan_window(figure.indicator, figure.plan_year)
    if not first <= figure.as_of <= last:
        errors.append(
            RowError(
                figure.row,
                "as_of",
                figure.as_of.isoformat(),
                f"outside the {figure.plan_year} reporting window {first.isoformat()} – {last.isoformat()}",
            )
        )
    if figure.as_of > today:
        errors.append(RowError(figure.row, "as_of", figure.as_of.isoformat(), f"in the future (today is {today})"))
    if figure.amount < 0 and figure.correction_reason is None:
        errors.append(
            RowError(figure.row, "amount", f"{figure.amount:f}", "negative: only a correction with a reason may be")
        )
    if figure.amount < 0 and figure.amount_kind == "cumulative":
        errors.append(
            RowError(figure.row, "amount", f"{figure.amount:f}", "a cumulative year-to-date total cannot be negative")
        )
    return errors


# A required cell that reads empty. In a spreadsheet two causes look the same from the file: a merged cell
# (only its first row holds the value) and a formula whose value was never saved (files written by a
# program, not by Excel or LibreOffice): both are named, with what to do.
EMPTY_CELL = _both(
    "trống; nếu là ô gộp (merge), hãy bỏ gộp và điền ở mọi dòng; nếu là ô công thức, hãy mở tệp trong Excel hoặc"
    " LibreOffice rồi lưu lại để giá trị được lưu",
    "missing; a merged cell holds its value on its first row only: unmerge it and fill every row; a formula cell"
    " with no saved value: open the file in Excel or LibreOffice and save it again",
)


def parse_figure_cells(cells: Mapping[str, object], row: int, errors: ErrorLog) -> FigureRow | None:
    """Parse one spreadsheet/CSV row (cells keyed by column key); log every problem, return None if any."""
    problems: list[RowError] = []

    def take(key: str, parse: object, required: bool = True) -> object:
        raw = cells.get(key)
        text = "" if raw is None else raw if not isinstance(raw, str) else raw.strip()
        if text == "":
            if required:
                problems.append(RowError(row, key, None, EMPTY_CELL))
            return None
        if isinstance(text, str) and (not_text := text_problem(text)) is not None:
            problems.append(RowError(row, key, repr(text)[:60], not_text))
            return None
        try:
            return parse(text)  # type: ignore[operator]
        except ValueError as error:
            problems.append(RowError(row, key, str(raw), str(error)))
            return None

    unit_code = take("unit_code", _unit_code)
    indicator = take("indicator", lambda v: parse_indicator(str(v)))
    plan_year = take("plan_year", parse_int_cell)
    category = take("category", lambda v: _label(v, "category"))
    project_code = take("project_code", lambda v: _label(v, "project_code"), required=False)
    as_of = take("as_of", parse_date_cell)
    amount_kind = take("amount_kind", parse_amount_kind, required=False) or "cumulative"
    amount = take("amount", parse_money_cell)
    document_date = take("document_date", parse_date_cell, required=False)
    reason_raw = cells.get("correction_reason")
    reason = str(reason_raw).strip() if reason_raw not in (None, "") else None
    if reason is not None and (not_text := text_problem(reason)) is not None:
        problems.append(RowError(row, "correction_reason", repr(reason)[:60], not_text))
    elif reason is not None and len(reason) > REASON_MAX_LENGTH:
        problems.append(
            RowError(row, "correction_reason", reason[:40] + "…", f"longer than {REASON_MAX_LENGTH} characters")
        )
    if problems:
        for problem in problems:
            errors.add(problem)
        return None
    figure = FigureRow(
        row,
        unit_code,  # type: ignore[arg-type]
        indicator,  # type: ignore[arg-type]
        plan_year,  # type: ignore[arg-type]
        category,  # type: ignore[arg-type]
        project_code or "",  # type: ignore[arg-type]
        as_of,  # type: ignore[arg-type]
        amount_kind,  # type: ignore[arg-type]
        amount,  # type: ignore[arg-type]
        reason,
        document_date,  # type: ignore[arg-type]
    )
    if not FIRST_PLAN_YEAR <= figure.plan_year <= LAST_PLAN_YEAR:
        reason = f"expected a year between {FIRST_PLAN_YEAR} and {LAST_PLAN_YEAR}"
        errors.add(RowError(row, "plan_year", str(figure.plan_year), reason))
        return None
    return figure


_CODE = re.compile(UNIT_CODE_PATTERN)


def _unit_code(value: object) -> str:
    text = str(value).strip()
    if not _CODE.fullmatch(text) or len(text) > CODE_MAX_LENGTH:
        rule = f"a unit code is 1–{CODE_MAX_LENGTH} letters, digits, '.', '_' or '-'"
        meant = code_like(text)
        if meant and _CODE.fullmatch(meant) and len(meant) <= CODE_MAX_LENGTH:  # a name typed for its code
            raise ValueError(_both(f"{text!r} không phải mã đơn vị (mã viết không dấu); có phải {meant!r}?",
                                   f"{text!r} is not a unit code ({rule}); did you mean {meant!r}?"))  # fmt: skip
        raise ValueError(rule)
    return text


def code_like(text: str) -> str:
    """`Tỉnh Lâm Đồng` → `tinh-lam-dong`: a name or a code typed loosely, spelled as unit codes are."""
    bare = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in bare if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", bare).strip("-")


def _label(value: object, what: str) -> str:
    text = str(value).strip()
    if len(text) > CODE_MAX_LENGTH:
        raise ValueError(f"{what} is longer than {CODE_MAX_LENGTH} characters")
    return text


def figure_from_event(event: FigureFields, row: int) -> FigureRow:
    """The JSON channels send events; they converge on the same row shape as files."""
    return FigureRow(row, *event.line())


_CLEAN_INDICATORS = {
    spelling: indicator
    for spelling, indicator in _INDICATOR_SPELLINGS.items()
    for spelling in {spelling, spelling.capitalize()}
}


class FigureCellParser:
    """Parses cells given in `keys` order. A clean row (plain text, ISO date, digits-only amount) takes a
    fast path; anything else goes through `parse_figure_cells`, which names every problem. Both accept
    exactly the same values: the fast path only declines, it never decides."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = tuple(keys)
        expected = ("unit_code", "indicator", "plan_year", "category", "project_code", "as_of", "amount_kind",
                    "amount", "correction_reason", "document_date")  # fmt: skip
        self._fast = self._keys == expected

    def __call__(self, values: Sequence[object], row: int, errors: ErrorLog) -> FigureRow | None:
        if self._fast:
            figure = self._clean(values, row)
            if figure is not None:
                return figure
        return parse_figure_cells(dict(zip(self._keys, values, strict=True)), row, errors)

    @staticmethod
    def _clean(values: Sequence[object], row: int) -> FigureRow | None:
        unit, indicator, year, category, project, as_of, kind, amount, reason, document_date = values
        if not (isinstance(unit, str) and isinstance(indicator, str) and isinstance(year, str)
                and isinstance(category, str) and isinstance(as_of, str) and isinstance(amount, str)):  # fmt: skip
            return None
        unit, category = unit.strip(), category.strip()
        measured = _CLEAN_INDICATORS.get(indicator)
        if (
            measured is None
            or not (_CODE.fullmatch(unit) and len(unit) <= CODE_MAX_LENGTH)
            or not (len(year) == 4 and _digits(year))
            or not 0 < len(category) <= CODE_MAX_LENGTH
            or not (len(as_of) == 10 and as_of[4] == "-")
            or not (_digits(amount) and len(amount) <= 18)
        ):
            return None
        if project not in (None, "") and not (
            isinstance(project, str) and len(project.strip()) <= CODE_MAX_LENGTH and text_problem(project) is None
        ):
            return None
        if kind in (None, ""):
            kind = "cumulative"
        elif kind not in ("cumulative", "period"):
            return None
        if reason not in (None, "") or document_date not in (None, ""):
            return None  # corrections and backfills are rare: the careful path
        try:
            date = dt.date.fromisoformat(as_of)
        except ValueError:
            return None
        plan_year = int(year)
        if not FIRST_PLAN_YEAR <= plan_year <= LAST_PLAN_YEAR:
            return None
        return FigureRow(
            row, unit, measured, plan_year, category, project.strip() if isinstance(project, str) else "", date,
            kind, Decimal(amount), None,
        )  # fmt: skip
