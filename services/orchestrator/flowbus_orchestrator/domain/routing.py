"""How a step leads to others: edges, conditional branches, parallel branches and delays."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flowbus_orchestrator.domain.definitions import StepDefinition
from flowbus_orchestrator.domain.expressions import Condition, ExpressionError
from flowbus_orchestrator.domain.expressions import parse_condition as _parse_condition

# Conditions are immutable values of their source text: parse each text once.
parse_condition = lru_cache(maxsize=4096)(_parse_condition)

_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


class RoutingError(ValueError):
    """A step's routing settings are malformed; `path` says where."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Branch:
    """One `{if, then}` entry of a conditional step; `condition` is None for `else`."""

    condition: Condition | None
    targets: tuple[str, ...]
    path: str


def _targets(value: Any, path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise RoutingError(path, "must be a step id or a list of step ids")


def conditional_branches(step: StepDefinition) -> list[Branch]:
    """The ordered branches of a conditional_logic step; at most one `else`, and last."""
    base = f"steps.{step.id}.config"
    entries = step.config.get("conditions", [])
    if not isinstance(entries, list):
        raise RoutingError(f"{base}.conditions", "must be a list of {if, then} entries")
    branches: list[Branch] = []
    for index, entry in enumerate(entries):
        path = f"{base}.conditions[{index}]"
        if not isinstance(entry, dict):
            raise RoutingError(path, "must be a mapping with `if` and `then`, or `else`")
        if "else" in entry:
            branches.append(Branch(None, _targets(entry["else"], f"{path}.else"), f"{path}.else"))
            continue
        if "if" not in entry or "then" not in entry:
            raise RoutingError(path, "needs both `if` and `then`")
        try:
            condition = parse_condition(str(entry["if"]))
        except ExpressionError as error:
            raise RoutingError(f"{path}.if", str(error)) from None
        branches.append(Branch(condition, _targets(entry["then"], f"{path}.then"), path))
    if "else" in step.config:
        branches.append(Branch(None, _targets(step.config["else"], f"{base}.else"), f"{base}.else"))
    otherwise = [b for b in branches if b.condition is None]
    if len(otherwise) > 1 or (otherwise and branches[-1].condition is not None):
        raise RoutingError(f"{base}.conditions", "only one `else`, after every `if`")
    if not branches:
        raise RoutingError(f"{base}.conditions", "a conditional step needs at least one branch")
    return branches


def parallel_branches(step: StepDefinition) -> tuple[str, ...]:
    if step.parallel_steps:
        return step.parallel_steps
    return _targets(
        step.config.get("parallel_steps", step.config.get("branches", [])),
        f"steps.{step.id}.config.parallel_steps",
    )


def step_condition(step: StepDefinition) -> Condition | None:
    if step.condition is None:
        return None
    try:
        return parse_condition(step.condition)
    except ExpressionError as error:
        raise RoutingError(f"steps.{step.id}.condition", str(error)) from None


def delay_seconds(step: StepDefinition) -> float:
    """A delay step's duration: `duration`/`delay` with `unit`, or delay_seconds/_minutes/_hours/_days."""
    config = step.config
    path = f"steps.{step.id}.config"
    for unit in ("seconds", "minutes", "hours", "days"):
        if f"delay_{unit}" in config:
            return _positive(config[f"delay_{unit}"], f"{path}.delay_{unit}") * _UNIT_SECONDS[unit]
    for key in ("duration", "delay"):
        if key in config:
            unit = str(config.get("unit", "seconds"))
            if unit not in _UNIT_SECONDS:
                raise RoutingError(f"{path}.unit", f"must be one of {', '.join(_UNIT_SECONDS)}")
            return _positive(config[key], f"{path}.{key}") * _UNIT_SECONDS[unit]
    raise RoutingError(path, "a delay step needs duration (with unit) or delay_seconds/minutes/hours/days")


def _positive(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise RoutingError(path, "must be a non-negative number")
    return float(value)


def edges(step: StepDefinition) -> list[tuple[str, str]]:
    """Every (target step id, path of the reference) this step can lead to."""
    found = [(target, f"steps.{step.id}.next_steps[{i}]") for i, target in enumerate(step.next_steps)]
    if step.type == "parallel_execution":
        found += [(t, f"steps.{step.id}.parallel_steps[{i}]") for i, t in enumerate(parallel_branches(step))]
    if step.type == "conditional_logic":
        for branch in conditional_branches(step):
            # An `if` branch's targets are under `then`; an `else` branch's path already names them.
            where = branch.path if branch.condition is None else f"{branch.path}.then"
            found += [(t, f"{where}[{i}]") for i, t in enumerate(branch.targets)]
    return found
