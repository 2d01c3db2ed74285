"""Reading finance step configs (permanent `invalid_config` with the reason when a value is
unusable) and turning ledger refusals into step failures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flowbus_executor.deps import require
from flowbus_executor.executors.finance.ledger import LedgerError, UnknownAccount
from flowbus_executor.executors.finance.money import MoneyError, currency_code, round_money, to_decimal
from flowbus_shared.step_worker import StepFailure

# Far below what BIGINT minor units hold in any currency.
LIMIT = Decimal(10) ** 13


def text(config: dict[str, Any], name: str, *, default: str | None = None, limit: int = 500) -> str | None:
    value = config.get(name)
    if value in (None, ""):
        return default
    if isinstance(value, dict | list):
        raise StepFailure("invalid_config", f"{name} must be text")
    result = str(value).strip()
    if len(result) > limit:
        raise StepFailure("invalid_config", f"{name} is longer than {limit} characters")
    return result or default


def required_text(config: dict[str, Any], name: str, *, limit: int = 500) -> str:
    require(config, name)
    result = text(config, name, limit=limit)
    if result is None:
        raise StepFailure("invalid_config", f"missing {name}")
    return result


def iso_currency(config: dict[str, Any], name: str = "currency", *, default: str | None = None) -> str:
    value = config.get(name) or default
    if value is None:
        raise StepFailure("invalid_config", f"missing {name}")
    try:
        return currency_code(value)
    except MoneyError as error:
        raise StepFailure("invalid_config", f"{name}: {error}") from None


def amount(value: Any, name: str, currency_code_: str, *, positive: bool = True) -> Decimal:
    """A money value in `currency_code_`: exact to its minor unit, positive unless told otherwise."""
    try:
        number = to_decimal(value)
    except MoneyError as error:
        raise StepFailure("invalid_config", f"{name}: {error}") from None
    if positive and number <= 0:
        raise StepFailure("invalid_config", f"{name} must be greater than zero")
    if abs(number) >= LIMIT:
        raise StepFailure("invalid_config", f"{name} {number} is too large")
    if number != round_money(number, currency_code_):
        raise StepFailure("invalid_config", f"{name} {number} has more decimals than {currency_code_} allows")
    return number


def number(value: Any, name: str) -> Decimal:
    try:
        return to_decimal(value)
    except MoneyError as error:
        raise StepFailure("invalid_config", f"{name}: {error}") from None


def day(config: dict[str, Any], name: str, *, default: date | None = None) -> date:
    """An ISO date (a datetime's date part is taken); `default`, or today (UTC) when unset."""
    value = config.get(name)
    if value in (None, ""):
        return default or datetime.now(UTC).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise StepFailure("invalid_config", f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def flag(config: dict[str, Any], name: str, *, default: bool = False) -> bool:
    value = config.get(name)
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off"):
        return False
    raise StepFailure("invalid_config", f"{name} must be true or false")


def ledger_failure(error: LedgerError) -> StepFailure:
    """A ledger refusal as a permanent step failure carrying the ledger's reason (an account
    code the chart lacks came from config, so it is `invalid_config`)."""
    if isinstance(error, UnknownAccount):
        return StepFailure("invalid_config", str(error))
    return StepFailure(error.error_type, str(error))
