"""Wiring of the executor service."""

from __future__ import annotations

from flowbus_executor.registry import default_handlers
from flowbus_shared.attempts import AttemptLog
from flowbus_shared.runtime import Context
from flowbus_shared.step_worker import StepWorker
from flowbus_shared.topics import STEPS_EXECUTOR


def create_service(context: Context) -> StepWorker:
    return StepWorker(
        name="executor",
        bus=context.bus,
        queue=STEPS_EXECUTOR,
        group=context.settings.group("executor"),
        handlers=default_handlers(),
        attempts=AttemptLog(context.store.engine),
    )
