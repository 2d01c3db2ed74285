"""Exact money for the finance analysis steps: parsing of config values, formatting, totals.

Amounts are `Decimal` from end to end. Input accepts numbers or strings ("1234.56", "1,234.56",
"-12.5", "(12.50)" for a negative in accounting notation); a float is read through its shortest
repr, so `0.1` is `Decimal("0.1")`, never the binary approximation. Output money is a string with
two decimals rounded ROUND_HALF_UP, done once at the end of a computation so no rounding
compounds. Every refusal is a permanent `invalid_config` failure naming the offending field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flowbus_executor.amounts import AmountError, parse_amount
from flowbus_shared.step_worker import StepFailure

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def invalid(field: str, why: str) -> StepFailure:
    """The permanent failure for a bad config value, naming where it is."""
    return StepFailure("invalid_config", f"{field}: {why}")


def parse_decimal(value: Any, field: str) -> Decimal:
    """A finite Decimal from an int, float, Decimal or numeric string; anything else is refused."""
    try:
        return parse_amount(value, accounting=True)
    except AmountError as error:
        raise invalid(field, str(error)) from None


def parse_money(value: Any, field: str, *, minimum: Decimal | None = None) -> Decimal:
    """An amount, refused below `minimum` (e.g. `Decimal(0)` for limits and prices)."""
    result = parse_decimal(value, field)
    if minimum is not None and result < minimum:
        raise invalid(field, f"must be at least {minimum}, got {value!r}")
    return result


def format_money(amount: Decimal) -> str:
    """Two decimals, ROUND_HALF_UP, never "-0.00"."""
    rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return str(rounded if rounded != 0 else Decimal("0.00"))


def optional_money(amount: Decimal | None) -> str | None:
    return None if amount is None else format_money(amount)


def percent(part: Decimal, whole: Decimal) -> float | None:
    """`part` as a percentage of `whole`, two decimals (a ratio, so a number, not a money string)."""
    if whole == 0:
        return 0.0 if part == 0 else None
    return float((part * HUNDRED / whole).quantize(CENT, rounding=ROUND_HALF_UP))


def parse_currency(value: Any, field: str) -> str:
    """An ISO 4217-shaped code ("EUR"), upper-cased."""
    text = value.strip().upper() if isinstance(value, str) else ""
    if not _CURRENCY.match(text):
        raise invalid(field, f"expected a three-letter currency code, got {value!r}")
    return text


def parse_date(value: Any, field: str) -> date:
    """A date from `date`, `datetime` or an ISO string ("2025-03-31", "2025-03-31T10:00:00Z")."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return datetime.fromisoformat(text).date() if len(text) > 10 else date.fromisoformat(text)
        except ValueError:
            pass
    raise invalid(field, f"expected an ISO date (YYYY-MM-DD), got {value!r}")


def optional_date(item: Mapping[str, Any], name: str, field: str) -> date | None:
    value = item.get(name)
    return None if value in (None, "") else parse_date(value, f"{field}.{name}")


def parse_int(value: Any, field: str, *, minimum: int = 0) -> int:
    """A whole number (an int, or a string or float with no fraction) at least `minimum`."""
    number = parse_decimal(value, field)
    if number != number.to_integral_value() or number < minimum:
        raise invalid(field, f"expected a whole number >= {minimum}, got {value!r}")
    return int(number)


def parse_bool(value: Any, field: str) -> bool:
    """A bool, or one of true/false/yes/no/1/0 as text."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "1", "on"}:
        return True
    if text in {"false", "no", "0", "off"}:
        return False
    raise invalid(field, f"expected true or false, got {value!r}")


def setting(config: Mapping[str, Any], name: str) -> Any:
    """A config value, None when absent or empty."""
    value = config.get(name)
    return None if value in (None, "") else value


def text_of(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def required_text(item: Mapping[str, Any], name: str, field: str) -> str:
    text = text_of(item, name)
    if text is None:
        raise invalid(f"{field}.{name}", "missing")
    return text


def records(config: Mapping[str, Any], name: str, *, required: bool = True) -> list[dict[str, Any]]:
    """`config[name]` as a list of mappings (an absent optional list is empty)."""
    value = config.get(name)
    if value is None:
        if required:
            raise invalid(name, "missing")
        return []
    if not isinstance(value, list):
        raise invalid(name, f"expected a list, got {type(value).__name__}")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise invalid(f"{name}[{index}]", f"expected an object, got {type(item).__name__}")
    return value


def identifier(item: Mapping[str, Any], field: str, seen: set[str]) -> Any:
    """An item's `id` (kept as given), refused when missing or repeated."""
    value = item.get("id")
    if value in (None, "") or isinstance(value, bool | dict | list):
        raise invalid(f"{field}.id", "missing")
    key = str(value)
    if key in seen:
        raise invalid(f"{field}.id", f"duplicate id {value!r}")
    seen.add(key)
    return value


def totals(amounts: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """(currency, amount) pairs summed per currency, currencies sorted."""
    result: dict[str, Decimal] = {}
    for currency, amount in amounts:
        result[currency] = result.get(currency, Decimal(0)) + amount
    return dict(sorted(result.items()))


def single_currency(currencies: Iterable[str]) -> str | None:
    """The one currency of a result, None when it mixes several (totals are then per currency)."""
    found = set(currencies)
    return found.pop() if len(found) == 1 else None
