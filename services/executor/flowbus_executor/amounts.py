"""Reading an amount from a step's config into an exact Decimal, for every executor that takes
money or quantities: numbers or numeric text ("1234.56", "1,234.56", "-12.5", and "(12.50)"
for a negative where `accounting` is on); a float through its shortest repr, so 0.1 is
Decimal("0.1"), never the binary approximation. Absurd magnitudes are refused, so a typo like
1e30 never reaches a total."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
LIMIT = Decimal("1e15")


class AmountError(ValueError):
    """Why a value is not an amount (the caller adds where it was)."""


def parse_amount(value: object, *, noun: str = "amount", accounting: bool = False) -> Decimal:
    """A finite Decimal below LIMIT from an int, float, Decimal or numeric text; else AmountError."""
    if isinstance(value, bool) or value is None:
        raise AmountError(f"{_expected(noun)}, got {value!r}")
    if isinstance(value, int | Decimal):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))  # NaN and infinities are refused below
    elif isinstance(value, str):
        result = _from_text(value.strip(), noun, accounting)
    else:
        raise AmountError(f"{_expected(noun)}, got {type(value).__name__}")
    if not result.is_finite() or abs(result) >= LIMIT:
        raise AmountError(f"expected a finite {noun}, got {value!r}")
    return result


def _expected(noun: str) -> str:
    return f"expected {'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _from_text(text: str, noun: str, accounting: bool) -> Decimal:
    negative = accounting and text.startswith("(") and text.endswith(")")
    raw = text[1:-1].strip() if negative else text
    if _THOUSANDS.match(raw):
        raw = raw.replace(",", "")
    if not _PLAIN.match(raw):
        raise AmountError(f"{_expected(noun)}, got {text!r}")
    try:
        result = Decimal(raw)
    except InvalidOperation:
        raise AmountError(f"{_expected(noun)}, got {text!r}") from None
    return -result if negative else result
