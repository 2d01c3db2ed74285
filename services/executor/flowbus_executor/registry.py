"""Step type -> handler. Each domain module contributes `handlers(deps)`; no if/elif chain."""

from __future__ import annotations

from collections.abc import Callable

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors import (
    agents,
    analysis,
    connectors,
    crm,
    data,
    email,
    finance,
    gmail,
    knowledge,
    notion,
    projects,
    slack,
    tasks,
    web,
)
from flowbus_shared.step_worker import StepHandler

Contribution = Callable[[ExecutorDeps], dict[str, StepHandler]]

# Every domain module of flowbus_executor.executors that runs steps.
MODULES: list[Contribution] = [
    data.handlers,
    web.handlers,
    connectors.handlers,
    email.handlers,
    slack.handlers,
    tasks.handlers,
    notion.handlers,
    gmail.handlers,
    crm.handlers,
    knowledge.handlers,
    finance.handlers,
    analysis.handlers,
    projects.handlers,
    agents.handlers,
]


def default_handlers(deps: ExecutorDeps) -> dict[str, StepHandler]:
    handlers: dict[str, StepHandler] = {}
    for contribute in MODULES:
        for step_type, handler in contribute(deps).items():
            if step_type in handlers:
                raise RuntimeError(f"two executors claim step type {step_type!r}")
            handlers[step_type] = handler
    return handlers
