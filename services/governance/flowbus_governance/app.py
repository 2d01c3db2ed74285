"""Wiring of the governance service."""

from __future__ import annotations

from flowbus_shared.attempts import AttemptLog
from flowbus_shared.runtime import Context
from flowbus_shared.step_worker import StepHandler, StepWorker
from flowbus_shared.topics import STEPS_GOVERNANCE

# Permission checks and approvals register here (governance issue).
HANDLERS: dict[str, StepHandler] = {}


def create_service(context: Context) -> StepWorker:
    return StepWorker(
        name="governance",
        bus=context.bus,
        queue=STEPS_GOVERNANCE,
        group=context.settings.group("governance"),
        handlers=HANDLERS,
        attempts=AttemptLog(context.store.engine),
    )
