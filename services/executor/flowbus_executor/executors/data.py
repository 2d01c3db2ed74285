"""Data steps that need no remote service."""

from __future__ import annotations

from typing import Any

from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler


async def data_transformation(request: StepRequest) -> dict[str, Any]:
    """Builds a new record from resolved values.

    config: `output` (a mapping whose values the orchestrator already resolved
    from `{{...}}` references) merged over `defaults`; `pick` keeps only the
    named keys of `source` (a mapping); `rename` maps old key -> new key.
    """
    config = request.config
    result: dict[str, Any] = dict(_mapping(config, "defaults"))
    source = _mapping(config, "source")
    if "pick" in config:
        pick = config["pick"]
        if not isinstance(pick, list) or not all(isinstance(name, str) for name in pick):
            raise StepFailure("invalid_config", "pick must be a list of key names")
        missing = [name for name in pick if name not in source]
        if missing:
            raise StepFailure("invalid_input", f"source lacks keys: {', '.join(missing)}")
        result.update({name: source[name] for name in pick})
    else:
        result.update(source)
    for old, new in _mapping(config, "rename").items():
        if old in result:
            result[str(new)] = result.pop(old)
    result.update(_mapping(config, "output"))
    return result


def _mapping(config: dict[str, Any], name: str) -> dict[str, Any]:
    value = config.get(name, {})
    if not isinstance(value, dict):
        raise StepFailure("invalid_config", f"{name} must be a mapping")
    return value


HANDLERS: dict[str, StepHandler] = {"data_transformation": data_transformation}
