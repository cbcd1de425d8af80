"""Numbers as people in Vietnam write them: money with dots between thousands (`23.478.000.000.000 đ`,
`90.144 tỷ`), rates as percentages with a decimal comma (`46,26 %`); never scientific notation."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

BILLION = Decimal(1_000_000_000)

STANDING_LABELS = {
    "at_or_above": "Bằng hoặc trên bình quân / at or above the average",
    "below": "Dưới bình quân / below the average",
    "not_assessed": "Không đánh giá / not assessed",
}
NOT_ASSESSED_REASONS = {
    "no_plan": "chưa giao kế hoạch / no plan",
    "late_supplement": "bổ sung vốn sau 30/9 / capital supplemented after 30 September",
}


def _grouped(amount: Decimal, places: int) -> str:
    """`amount` rounded to `places` decimals, thousands separated by dots, decimals after a comma."""
    text = f"{amount.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN):,.{places}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def vnd(amount: Decimal | None) -> str:
    """`23.478.000.000.000 đ`; decimals (đồng has none in practice) are kept when there are any."""
    if amount is None:
        return "—"
    places = 0 if amount == amount.to_integral_value() else 2
    return f"{_grouped(amount, places)} đ"


def billions(amount: Decimal | None, places: int = 0) -> str:
    """In tỷ đồng (billion VND): `90.144`."""
    return "—" if amount is None else _grouped(amount / BILLION, places)


def percent(fraction: Decimal | None, places: int = 2) -> str:
    """A fraction as a percentage: `0.4626` → `46,26 %`."""
    return "—" if fraction is None else f"{_grouped(fraction * 100, places)} %"


def points(fraction: Decimal | None, places: int = 1) -> str:
    """A difference of fractions in percentage points, signed: `0.039` → `+3,9 pp`."""
    if fraction is None:
        return "—"
    return f"{'+' if fraction >= 0 else '-'}{_grouped(abs(fraction) * 100, places)} pp"
