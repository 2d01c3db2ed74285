"""Reading the values of a step's config (or a model's answer) into exact types, with the path of
the field in every refusal, and writing them back out as JSON.

Parsers raise `Invalid`; the handler decides what that is: a permanent `invalid_config` for a
config, a retryable `bad_response` for a model's answer (another answer may be fine).
Money is Decimal throughout and a string with two decimals in output.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flowbus_executor.amounts import AmountError, parse_amount
from flowbus_shared.step_worker import StepFailure

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class Invalid(ValueError):
    """A value that does not fit; the message starts with the path of the field holding it."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")


@contextmanager
def failing_as(error_type: str, *, retryable: bool = False, prefix: str = "") -> Iterator[None]:
    """Turn an `Invalid` raised inside into a StepFailure of `error_type`."""
    try:
        yield
    except Invalid as problem:
        raise StepFailure(error_type, f"{prefix}{problem}", retryable=retryable) from None


def mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Invalid(field, f"expected an object, got {type(value).__name__}")
    return value


def items(value: Any, field: str, *, required: bool = False) -> list[Any]:
    """A list (None is an empty one unless required)."""
    if value is None:
        if required:
            raise Invalid(field, "missing")
        return []
    if not isinstance(value, list):
        raise Invalid(field, "expected a list")
    if required and not value:
        raise Invalid(field, "must not be empty")
    return value


def text(value: Any, field: str, *, limit: int = 300) -> str:
    """Required text, trimmed."""
    if value is None or isinstance(value, bool | Mapping | list):
        raise Invalid(field, "missing" if value is None else "expected text")
    result = str(value).strip()
    if not result:
        raise Invalid(field, "missing")
    if len(result) > limit:
        raise Invalid(field, f"longer than {limit} characters")
    return result


def optional_text(value: Any, field: str, *, limit: int = 300) -> str | None:
    return None if value is None or value == "" else text(value, field, limit=limit)


def names(value: Any, field: str) -> tuple[str, ...]:
    """A list of short names (skills, deliverables), or one comma-separated string of them."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return tuple(text(item, f"{field}[{index}]") for index, item in enumerate(items(value, field)))


def decimal(
    value: Any, field: str, *, minimum: Decimal | None = None, maximum: Decimal | None = None
) -> Decimal:
    """A finite Decimal from a number or numeric text ("1,234.50" too); floats via their shortest repr."""
    if value is None:
        raise Invalid(field, "missing")
    try:
        result = parse_amount(value, noun="number")
    except AmountError as error:
        raise Invalid(field, str(error)) from None
    if minimum is not None and result < minimum:
        raise Invalid(field, "must not be negative" if minimum == 0 else f"must be at least {minimum}")
    if maximum is not None and result > maximum:
        raise Invalid(field, f"must be at most {maximum}")
    return result


def money(value: Any, field: str) -> Decimal:
    """A non-negative amount in cents (ROUND_HALF_UP: the columns keep two decimals)."""
    return decimal(value, field, minimum=Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP)


def optional_money(value: Any, field: str) -> Decimal | None:
    return None if value is None or value == "" else money(value, field)


def integer(value: Any, field: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    number = decimal(value, field)
    if number != number.to_integral_value():
        raise Invalid(field, f"expected a whole number, got {value!r}")
    result = int(number)
    if result < minimum:
        raise Invalid(field, f"must be at least {minimum}")
    if maximum is not None and result > maximum:
        raise Invalid(field, f"must be at most {maximum}")
    return result


def boolean(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "yes", "no", "1", "0"}:
        return value.strip().lower() in {"true", "yes", "1"}
    raise Invalid(field, f"expected true or false, got {value!r}")


def day(value: Any, field: str) -> date:
    """A calendar date from `YYYY-MM-DD` (a timestamp's date part is taken, as CRMs send those)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        raise Invalid(field, "missing" if value in (None, "") else "expected a date (YYYY-MM-DD)")
    raw = value.strip()
    try:
        return date.fromisoformat(raw[:10]) if len(raw) > 10 and raw[10] in "T " else date.fromisoformat(raw)
    except ValueError:
        raise Invalid(field, f"expected a date (YYYY-MM-DD), got {value!r}") from None


def optional_day(value: Any, field: str) -> date | None:
    return None if value is None or value == "" else day(value, field)


def currency(value: Any, field: str) -> str:
    code = text(value, field, limit=3).upper()
    if not _CURRENCY.match(code):
        raise Invalid(field, f"expected an ISO 4217 code such as USD, got {value!r}")
    return code


def optional_currency(value: Any, field: str) -> str | None:
    return None if value is None or value == "" else currency(value, field)


def today_utc() -> date:
    return datetime.now(UTC).date()


def add_months(start: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def money_out(amount: Decimal | None) -> str | None:
    """Two decimals, never "-0.00"."""
    if amount is None:
        return None
    rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return str(rounded if rounded != 0 else Decimal("0.00"))


def number_out(value: Decimal | None, places: int = 1) -> float | int | None:
    """A JSON number for percents, hours and scores: an int when whole, else rounded to `places`."""
    if value is None:
        return None
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return int(rounded) if rounded == rounded.to_integral_value() else float(rounded)


def day_out(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
