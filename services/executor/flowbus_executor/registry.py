"""Step type -> handler. Each domain module contributes its own handlers."""

from __future__ import annotations

from flowbus_executor.executors import data
from flowbus_shared.step_worker import StepHandler


def default_handlers() -> dict[str, StepHandler]:
    handlers: dict[str, StepHandler] = {}
    handlers.update(data.HANDLERS)
    return handlers
