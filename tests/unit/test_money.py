import datetime as dt
import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.events import DisbursementReported
from shared.money import MAX_AMOUNT, parse_exact_amount, plain_decimal, plain_json


def report(amount: object) -> DisbursementReported:
    return DisbursementReported.model_validate(
        {
            "unit_code": "ha-noi",
            "plan_year": 2025,
            "category": "central_budget",
            "as_of": "2025-03-31",
            "amount": amount,
        }
    )


def test_integers_and_decimal_strings_are_exact() -> None:
    assert parse_exact_amount(10**15) == Decimal(10**15)
    assert parse_exact_amount("999999999999999.99") == Decimal("999999999999999.99")


def test_a_float_is_refused_even_when_it_looks_whole() -> None:
    with pytest.raises(ValueError, match="floating-point"):
        parse_exact_amount(1.0)


@pytest.mark.parametrize("text", ["1.234", "abc", "NaN", "Infinity", ""])
def test_bad_strings_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_exact_amount(text)


def test_json_float_is_refused_at_the_model_and_names_the_field() -> None:
    with pytest.raises(ValidationError) as error:
        DisbursementReported.model_validate_json(
            '{"unit_code": "ha-noi", "plan_year": 2025, "category": "c", "as_of": "2025-03-31",'
            ' "amount": 1000000000000000.5}'
        )
    assert error.value.errors()[0]["loc"] == ("amount",)


def test_amount_serialises_to_a_json_string_without_losing_digits() -> None:
    dumped = report("1000000000000000.01").model_dump(mode="json")
    assert dumped["amount"] == "1000000000000000.01"


def test_negative_reported_amount_is_refused() -> None:
    with pytest.raises(ValidationError):
        report(-1)


def test_an_amount_at_or_above_the_bound_is_refused_and_just_below_it_is_taken() -> None:
    assert parse_exact_amount(MAX_AMOUNT - 1) == MAX_AMOUNT - 1
    for value in (MAX_AMOUNT, 10**40, str(10**18), -(10**18)):
        with pytest.raises(ValueError, match="implausibly large"):
            parse_exact_amount(value)


def test_amounts_and_rates_leave_as_plain_decimals() -> None:
    assert plain_decimal(Decimal("2.4000E+12")) == "2400000000000"
    assert plain_decimal(Decimal("1.551655000E+13")) == "15516550000000"
    assert plain_decimal(Decimal("0.47500000000000000000")) == "0.47500000000000000000"
    assert plain_decimal(Decimal("-1E+3")) == "-1000"
    assert json.dumps({"amount": Decimal("5E+2"), "on": dt.date(2025, 1, 31)}, default=plain_json) == (
        '{"amount": "500", "on": "2025-01-31"}'
    )
