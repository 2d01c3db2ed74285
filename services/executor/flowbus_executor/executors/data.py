"""data_transformation: reshape data from the input and earlier outputs, no remote service.

config (values already resolved by the orchestrator, e.g. `data: "{{fetch.body}}"`):
- `data` (or `source`): the value to work on;
- `expressions`: {name: JMESPath expression over `data`};
- `pick`: keys of `data` to keep (else a mapping `data` is copied whole);
- `rename`: {old: new}; `defaults`: {key: value} for keys missing or null;
- `cast`: {key: int | float | str | bool}; `output`: {key: value} set last.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from flowbus_executor.deps import ExecutorDeps
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler

_CASTS: dict[str, Callable[[Any], Any]] = {
    "int": int,
    "float": float,
    "str": str,
    "bool": lambda value: (
        value if isinstance(value, bool) else str(value).strip().lower() in {"1", "true", "yes"}
    ),
}


def _mapping(config: dict[str, Any], name: str) -> dict[str, Any]:
    value = config.get(name, {})
    if not isinstance(value, dict):
        raise StepFailure("invalid_config", f"{name} must be a mapping")
    return value


def transform(config: dict[str, Any]) -> dict[str, Any]:
    data = config.get("data", config.get("source", {}))
    result: dict[str, Any] = {}
    if "pick" in config:
        pick = config["pick"]
        if not isinstance(pick, list) or not isinstance(data, dict):
            raise StepFailure("invalid_config", "pick needs a list of keys and a mapping `data`")
        missing = [name for name in pick if name not in data]
        if missing:
            raise StepFailure("invalid_input", f"data lacks keys: {', '.join(map(str, missing))}")
        result.update({name: data[name] for name in pick})
    elif isinstance(data, dict):
        result.update(data)
    for name, expression in _mapping(config, "expressions").items():
        try:
            result[name] = jmespath.search(str(expression), data)
        except JMESPathError as error:
            raise StepFailure("invalid_config", f"expressions.{name}: {error}") from None
    for old, new in _mapping(config, "rename").items():
        if old in result:
            result[str(new)] = result.pop(old)
    for key, value in _mapping(config, "defaults").items():
        if result.get(key) is None:
            result[key] = value
    for key, kind in _mapping(config, "cast").items():
        if kind not in _CASTS:
            raise StepFailure("invalid_config", f"cast.{key}: unknown type {kind!r} (int, float, str, bool)")
        if key in result and result[key] is not None:
            try:
                result[key] = _CASTS[kind](result[key])
            except (TypeError, ValueError):
                raise StepFailure("invalid_input", f"cast.{key}: {result[key]!r} is not a {kind}") from None
    result.update(_mapping(config, "output"))
    return result


def handlers(_deps: ExecutorDeps) -> dict[str, StepHandler]:
    async def data_transformation(request: StepRequest) -> dict[str, Any]:
        return transform(request.config)

    return {"data_transformation": data_transformation}
