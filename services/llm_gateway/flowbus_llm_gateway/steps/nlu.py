"""nlu_analysis through the routed providers.

nlu_analysis asks for JSON against a schema holding the fields the workflows
route on (intent, entities, priority, category, confidence, tasks, plus the
step's `extract` list), validates the answer, and returns it with provider,
model, usage and cost. A tenant without any provider key gets the labelled
rule-based NLU when that is enabled; otherwise a clear permanent failure.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flowbus_llm_gateway.gateway import Gateway, NoProvider
from flowbus_llm_gateway.local_nlu import local_nlu
from flowbus_llm_gateway.model import ChatMessage, ChatRequest
from flowbus_llm_gateway.steps.calling import ask, max_tokens, provenance
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler

DEFAULT_SYSTEM = (
    "You analyse business text for an automation platform. Answer with one JSON object only, "
    "matching the schema you are given. Be literal: do not invent facts that are not in the text."
)


class NluResult(BaseModel):
    model_config = ConfigDict(extra="allow")

    intent: str
    entities: dict[str, Any] = Field(default_factory=dict)
    priority: str
    category: str
    confidence: float = Field(ge=0, le=1)
    tasks: list[str] = Field(default_factory=list)


def nlu_schema(config: dict[str, Any]) -> dict[str, Any]:
    allowed = config.get("allowed_values") if isinstance(config.get("allowed_values"), dict) else {}
    descriptions = config.get("descriptions") if isinstance(config.get("descriptions"), dict) else {}
    properties: dict[str, Any] = {
        "intent": {"type": "string"},
        "entities": {"type": "object"},
        "priority": {"type": "string"},
        "category": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "tasks": {"type": "array", "items": {"type": "string"}},
    }
    for name in config.get("extract", []) or []:
        properties.setdefault(str(name), {})
    for name, values in (allowed or {}).items():
        if name in properties and isinstance(values, list):
            properties[name] = {"type": "string", "enum": [str(v) for v in values]}
    for name, text in (descriptions or {}).items():
        if name in properties:
            properties[name] = {**properties[name], "description": str(text)}
    return {"type": "object", "properties": properties, "required": list(NluResult.model_fields)}


def nlu_analysis_handler(gateway: Gateway, *, local_rules: bool) -> StepHandler:
    async def nlu_analysis(request: StepRequest) -> dict[str, Any]:
        config = request.config
        text = config.get("text_input")
        if not isinstance(text, str) or not text.strip():
            raise StepFailure("invalid_config", "nlu_analysis needs text_input (a non-empty string)")
        chat = ChatRequest(
            model="",
            messages=[
                ChatMessage(role="system", content=str(config.get("system_prompt") or DEFAULT_SYSTEM)),
                ChatMessage(role="user", content=text),
            ],
            json_schema=nlu_schema(config),
            max_tokens=max_tokens(config, 1024),
        )
        try:
            answer = await ask(gateway, request, chat, task_type="analysis")
        except NoProvider as error:
            if local_rules:
                return await local_nlu(request)
            raise StepFailure("no_provider", str(error)) from None
        try:
            parsed = NluResult.model_validate(json.loads(answer.response.content))
        except (ValueError, ValidationError) as error:
            # Another attempt (or model) may well answer properly: retryable.
            raise StepFailure(
                "bad_response", f"the model's answer is not the asked JSON: {error}", retryable=True
            ) from None
        return {**parsed.model_dump(), **provenance(answer)}

    return nlu_analysis
