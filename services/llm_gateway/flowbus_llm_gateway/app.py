"""Wiring of the llm-gateway service."""

from __future__ import annotations

import logging

from flowbus_llm_gateway.local_nlu import local_nlu
from flowbus_llm_gateway.settings import GatewaySettings
from flowbus_shared.attempts import AttemptLog
from flowbus_shared.runtime import Context
from flowbus_shared.step_worker import StepHandler, StepWorker
from flowbus_shared.topics import STEPS_LLM

log = logging.getLogger("flowbus.llm_gateway")

# The step types this service is meant to run; provider-backed handlers join as providers are configured.
LLM_STEP_TYPES = ("nlu_analysis",)


def handlers(settings: GatewaySettings) -> dict[str, StepHandler]:
    found: dict[str, StepHandler] = {}
    if settings.llm_local_rules:
        found["nlu_analysis"] = local_nlu
    missing = [step_type for step_type in LLM_STEP_TYPES if step_type not in found]
    if missing:
        log.warning(
            "no LLM provider is configured: steps of type %s will fail as unsupported "
            "(set FLOWBUS_LLM_LOCAL_RULES=true for the rule-based NLU)",
            ", ".join(missing),
        )
    return found


def create_service(context: Context) -> StepWorker:
    return StepWorker(
        name="llm-gateway",
        bus=context.bus,
        queue=STEPS_LLM,
        group=context.settings.group("llm-gateway"),
        handlers=handlers(GatewaySettings()),
        attempts=AttemptLog(context.store.engine),
    )
