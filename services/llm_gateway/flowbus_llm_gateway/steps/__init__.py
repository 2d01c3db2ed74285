"""Step handlers of `flowbus.steps.llm`, one module per step type:

- nlu_analysis: intent, entities, priority, category, confidence, tasks as validated JSON;
- llm_completion: text, or structured output validated against the step's JSON schema,
  streamed to `flowbus.llm-tokens` as it is written;
- workflow_generation: a workflow plan from a natural-language request, for the
  orchestrator's planner.
"""

from __future__ import annotations

from flowbus_llm_gateway.gateway import Gateway
from flowbus_llm_gateway.steps.completion import llm_completion_handler
from flowbus_llm_gateway.steps.generation import workflow_generation_handler
from flowbus_llm_gateway.steps.nlu import nlu_analysis_handler
from flowbus_llm_gateway.steps.token_stream import PublishToken
from flowbus_shared.step_worker import StepHandler


def handlers(
    gateway: Gateway, *, local_rules: bool, publish_token: PublishToken | None = None
) -> dict[str, StepHandler]:
    return {
        "nlu_analysis": nlu_analysis_handler(gateway, local_rules=local_rules),
        "llm_completion": llm_completion_handler(gateway, publish_token),
        "workflow_generation": workflow_generation_handler(gateway),
    }


__all__ = ["PublishToken", "handlers"]
