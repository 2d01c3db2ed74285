"""Reading the knowledge steps' config: typed, bounded values, or a permanent invalid_config
that names the option and what it should be."""

from __future__ import annotations

from typing import Any

from flowbus_shared.step_worker import StepFailure


def invalid(message: str) -> StepFailure:
    return StepFailure("invalid_config", message)


def int_option(config: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    """An integer in [low, high]; templated configs may carry it as a digit string."""
    value = config.get(name)
    if value in (None, ""):
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise invalid(f"{name} must be an integer from {low} to {high}, not {value!r}")
    return value


def float_option(config: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    """A number in (low, high]."""
    value = config.get(name)
    if value in (None, ""):
        return default
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise invalid(f"{name} must be a number, not {value!r}") from None
    if not isinstance(value, int | float) or isinstance(value, bool) or not low < value <= high:
        raise invalid(f"{name} must be a number above {low} and at most {high}, not {value!r}")
    return float(value)


def bool_option(config: dict[str, Any], name: str, default: bool) -> bool:
    value = config.get(name)
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise invalid(f"{name} must be true or false, not {value!r}")


def text_option(config: dict[str, Any], name: str) -> str | None:
    """A non-blank string, or None when unset."""
    value = config.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{name} must be text, not {value!r}")
    return value.strip()


def text_list(config: dict[str, Any], name: str) -> list[str] | None:
    """A list of non-blank strings (a single string counts as a list of one), or None when unset."""
    value = config.get(name)
    if value in (None, "", []):
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise invalid(f"{name} must be a list of non-empty strings")
    return [item.strip() for item in value]


def scalar_text(value: Any, what: str, limit: int) -> str:
    """A fact part or record field: a string or number, whitespace-collapsed, within `limit` characters."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid(f"{what} must be text or a number, not {type(value).__name__}")
    text = " ".join(str(value).split())
    if not text:
        raise invalid(f"{what} is empty")
    if len(text) > limit:
        raise invalid(f"{what} is longer than {limit} characters")
    return text
