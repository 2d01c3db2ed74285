"""The executors' one amount parser: exact, strict, and clear about what it refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from flowbus_executor.amounts import AmountError, parse_amount


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, Decimal(12)),
        (0.1, Decimal("0.1")),
        ("1,234.56", Decimal("1234.56")),
        (" -12.5 ", Decimal("-12.5")),
        (Decimal("3.30"), Decimal("3.30")),
        (".5", Decimal("0.5")),
    ],
)
def test_amounts_are_read_exactly(value: object, expected: Decimal) -> None:
    assert parse_amount(value) == expected


def test_accounting_negatives_only_when_asked() -> None:
    assert parse_amount("(12.50)", accounting=True) == Decimal("-12.50")
    with pytest.raises(AmountError, match="expected an amount"):
        parse_amount("(12.50)")


@pytest.mark.parametrize("value", [True, None, "12 EUR", "1,23", "1e30", float("nan"), [1], "12.3.4"])
def test_anything_else_is_refused_with_the_reason(value: object) -> None:
    with pytest.raises(AmountError, match="expected"):
        parse_amount(value)


def test_the_noun_is_the_callers() -> None:
    with pytest.raises(AmountError, match="expected a number, got 'x'"):
        parse_amount("x", noun="number")
