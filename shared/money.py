"""Exact money: VND amounts as Decimal, never float.

Amounts arrive as JSON integers or decimal strings. A JSON float is refused: by the time it is a
Python float its digits may already be wrong (2**53 is far below 10**15 VND).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

MAX_DECIMAL_PLACES = 2
# Far above any budget (the whole state budget is ~2 × 10^15 VND) and far inside what every reader's
# arithmetic holds exactly: an amount at or above it is a typing error or an attack, refused at the door.
MAX_AMOUNT = Decimal(10) ** 18
# No exponent, no separators, ASCII digits only (`\d` would take ١٢٣): one spelling per value.
_PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]+)?")


def parse_exact_amount(value: Any) -> Decimal:
    """Turn an int, Decimal or decimal string into a Decimal with at most two decimal places."""
    if isinstance(value, bool | float):
        raise ValueError("amount must be an integer or a decimal string, not a floating-point number")
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    elif isinstance(value, str):
        if not _PLAIN_DECIMAL.fullmatch(value):
            raise ValueError(f"amount {value!r} is not a plain decimal number like 1234567 or 1234567.50")
        amount = Decimal(value)
    else:
        raise ValueError(f"amount must be an integer or a decimal string, got {type(value).__name__}")
    if not amount.is_finite():
        raise ValueError(f"amount {value!r} is not a finite number")
    if abs(amount) >= MAX_AMOUNT:
        raise ValueError(f"amount {value!r} is implausibly large: amounts are below 10^18 VND (a million tỷ đồng)")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMAL_PLACES:
        raise ValueError(f"amount {value!r} has more than {MAX_DECIMAL_PLACES} decimal places")
    return amount


def plain_decimal(value: Decimal) -> str:
    """An exact decimal as people and programs read it: digits, never an exponent (`2400000000000`, not
    `2.4000E+12`, which `str` gives for a sum of database numerics). Trailing zeros are kept: the same value."""
    return format(value, "f")


def plain_json(value: object) -> str:
    """`json.dumps`'s `default` for what JSON has no type for: Decimals as plain decimal strings, the rest
    (dates, UUIDs) as their text."""
    return plain_decimal(value) if isinstance(value, Decimal) else str(value)


Amount = Annotated[
    Decimal,
    BeforeValidator(parse_exact_amount),
    PlainSerializer(plain_decimal, return_type=str, when_used="json"),
]
"""A VND amount, exact; serialised to JSON as a string so no reader turns it into a float."""


def plain_json_value(value: object) -> object:
    """JSON-ready, exact: Decimals as strings (never floats), dates as ISO text."""
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [plain_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: plain_json_value(v) for k, v in value.items()}
    return value
