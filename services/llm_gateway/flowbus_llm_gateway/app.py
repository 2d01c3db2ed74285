"""Wiring of the llm-gateway service."""

from __future__ import annotations

from flowbus_shared.attempts import AttemptLog
from flowbus_shared.runtime import Context
from flowbus_shared.step_worker import StepHandler, StepWorker
from flowbus_shared.topics import STEPS_LLM

# Provider-backed steps (nlu_analysis, generation) register here (llm-gateway issue).
HANDLERS: dict[str, StepHandler] = {}


def create_service(context: Context) -> StepWorker:
    return StepWorker(
        name="llm-gateway",
        bus=context.bus,
        queue=STEPS_LLM,
        group=context.settings.group("llm-gateway"),
        handlers=HANDLERS,
        attempts=AttemptLog(context.store.engine),
    )
