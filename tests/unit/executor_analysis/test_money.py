"""Money parsing and formatting: what an accountant types is read exactly, garbage is refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from flowbus_executor.executors.analysis.money import (
    format_money,
    parse_bool,
    parse_currency,
    parse_date,
    parse_int,
    parse_money,
    percent,
)
from flowbus_shared.step_worker import StepFailure


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234.56", "1234.56"),
        ("1,234.56", "1234.56"),
        (" 12 ", "12"),
        (1200, "1200"),
        (0.1, "0.1"),  # the float's repr, never its binary expansion
        (19.99, "19.99"),
        ("-12.5", "-12.5"),
        ("(12.50)", "-12.50"),
        (".5", "0.5"),
        (Decimal("3.333"), "3.333"),
    ],
)
def test_amounts_are_read_exactly(value: Any, expected: str) -> None:
    assert parse_money(value, "amount") == Decimal(expected)


@pytest.mark.parametrize(
    "value",
    ["", "abc", "12,34", "1.2.3", "1e5", "NaN", "inf", float("nan"), float("inf"), True, None, [], {}],
)
def test_garbage_is_refused_naming_the_field(value: Any) -> None:
    with pytest.raises(StepFailure) as failure:
        parse_money(value, "payments[3].amount")
    assert failure.value.error_type == "invalid_config"
    assert failure.value.retryable is False
    assert failure.value.message.startswith("payments[3].amount:")


def test_a_minimum_refuses_negative_limits() -> None:
    with pytest.raises(StepFailure, match=r"budgets\[0\]\.limit"):
        parse_money("-1", "budgets[0].limit", minimum=Decimal(0))


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("2.675", "2.68"),
        ("2.665", "2.67"),
        ("-2.675", "-2.68"),
        ("-0.004", "0.00"),
        ("10", "10.00"),
        ("0", "0.00"),
    ],
)
def test_formatting_rounds_half_up_to_cents(amount: str, text: str) -> None:
    assert format_money(Decimal(amount)) == text


def test_a_twelfth_of_an_annual_price_rounds_once() -> None:
    monthly = Decimal("149.90") * 50 / 12
    assert format_money(monthly) == "624.58"
    assert format_money(monthly * 12) == "7495.00"


def test_other_values() -> None:
    assert parse_currency(" eur ", "currency") == "EUR"
    assert parse_date("2025-03-31T23:59:00+02:00", "date").isoformat() == "2025-03-31"
    assert parse_int("12", "seats") == 12
    assert parse_int(3.0, "seats") == 3
    assert parse_bool("yes", "flag") is True
    assert percent(Decimal(1), Decimal(3)) == 33.33
    assert percent(Decimal(0), Decimal(0)) == 0.0
    assert percent(Decimal(1), Decimal(0)) is None
    for call in (
        lambda: parse_currency("euro", "invoices[0].currency"),
        lambda: parse_date("31/03/2025", "invoices[0].date"),
        lambda: parse_date("2025-03-31garbage", "invoices[0].date"),
        lambda: parse_int("2.5", "seats"),
        lambda: parse_int(-1, "seats"),
        lambda: parse_bool("maybe", "flag"),
    ):
        with pytest.raises(StepFailure):
            call()
