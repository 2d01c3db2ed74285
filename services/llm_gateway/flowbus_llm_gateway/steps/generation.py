"""workflow_generation: a workflow plan from a natural-language request.

Config: `request` (what the workflow should do), optional `provider`, `model`, `max_tokens`.
Output: `plan` (validated against the shared plan schema; the orchestrator's planner turns
it into a definition) with provider, model, usage, cost and complexity.
"""

from __future__ import annotations

from typing import Any

from flowbus_llm_gateway.gateway import Gateway, NoProvider
from flowbus_llm_gateway.model import ChatMessage, ChatRequest
from flowbus_llm_gateway.steps.calling import ask, max_tokens, provenance, structured
from flowbus_shared.plans import PLAN_SCHEMA, PLANNER_PROMPT
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler


def workflow_generation_handler(gateway: Gateway) -> StepHandler:
    async def workflow_generation(request: StepRequest) -> dict[str, Any]:
        config = request.config
        wanted = config.get("request")
        if not isinstance(wanted, str) or not wanted.strip():
            raise StepFailure("invalid_config", "workflow_generation needs request (a non-empty string)")
        chat = ChatRequest(
            model="",
            messages=[
                ChatMessage(role="system", content=PLANNER_PROMPT),
                ChatMessage(role="user", content=wanted),
            ],
            json_schema=PLAN_SCHEMA,
            max_tokens=max_tokens(config, 4096),
        )
        try:
            answer = await ask(gateway, request, chat, task_type="reasoning")
        except NoProvider as error:
            raise StepFailure("no_provider", str(error)) from None
        return {"plan": structured(answer.response.content, PLAN_SCHEMA), **provenance(answer)}

    return workflow_generation
