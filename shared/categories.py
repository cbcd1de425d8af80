"""Capital sources (nguồn vốn) and revenue categories (khoản thu) as a registry: the Ministry of Finance's
classification by default, extended by an admin (`POST /v1/categories`, a `CategoryDeclared` event). A
figure in an unknown category is refused with the nearest known one suggested, so a typo
(`central_budjet`) never becomes a category of its own that is added to the unit's total."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from shared.events import Indicator

# Code → Vietnamese / English label.
DEFAULT_CATEGORIES: dict[Indicator, dict[str, str]] = {
    Indicator.DISBURSEMENT: {
        "central_budget": "Vốn ngân sách trung ương / Central budget",
        "local_budget": "Vốn ngân sách địa phương / Local budget",
        "oda": "Vốn ODA, vay ưu đãi nước ngoài / ODA and concessional foreign loans",
        "national_target_programs": "Chương trình mục tiêu quốc gia / National target programmes",
        "recovery_program": "Chương trình phục hồi và phát triển kinh tế - xã hội / Socio-economic recovery programme",
        "government_bonds": "Trái phiếu Chính phủ / Government bonds",
        "other": "Nguồn khác / Other sources",
    },
    Indicator.BUDGET_REVENUE: {
        "taxes": "Thuế / Taxes",
        "fees_and_charges": "Phí, lệ phí / Fees and charges",
        "land_levies": "Thu tiền sử dụng đất, thuê đất / Land use levies and rents",
        "import_export": "Thu cân đối từ hoạt động xuất nhập khẩu / Import and export duties",
        "crude_oil": "Thu từ dầu thô / Crude oil",
        "lottery": "Thu xổ số kiến thiết / Lottery",
        "other": "Thu khác / Other revenue",
    },
}

KIND = {Indicator.DISBURSEMENT: "capital source", Indicator.BUDGET_REVENUE: "revenue category"}


def known_categories(declared: Iterable[tuple[str, str]]) -> dict[Indicator, set[str]]:
    """The defaults with the declared (indicator, code) pairs added."""
    known = {indicator: set(codes) for indicator, codes in DEFAULT_CATEGORIES.items()}
    for indicator, code in declared:
        known[Indicator(indicator)].add(code)
    return known


def named_categories(declared: Iterable[tuple[str, str, str]]) -> dict[Indicator, dict[str, str]]:
    """Each known code with its label: the defaults', then the declared (indicator, code, name) in order
    (a code declared again is renamed)."""
    named = {indicator: dict(codes) for indicator, codes in DEFAULT_CATEGORIES.items()}
    for indicator, code, name in declared:
        named[Indicator(indicator)][code] = name
    return named


def unknown_category(indicator: Indicator, category: str, known: Mapping[Indicator, set[str]]) -> str | None:
    """Why `category` is refused for `indicator` (with the nearest known code), or None if it is known."""
    codes = known[indicator]
    if category in codes:
        return None
    nearest = difflib.get_close_matches(category.lower(), sorted(codes), n=1, cutoff=0.5)
    hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
    return (
        f"unknown {KIND[indicator]} {category!r}{hint} Known: {', '.join(sorted(codes))}"
        f" (an admin declares new ones: POST /v1/categories)"
    )
