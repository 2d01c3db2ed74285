"""Dynamic workflows: a natural-language request -> a plan from the llm-gateway (its
OpenAI-compatible chat API) -> a definition, validated like any other and stored
only if valid."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from flowbus_orchestrator.adapters.definitions import DefinitionRepository
from flowbus_orchestrator.domain.definitions import WorkflowDefinition
from flowbus_orchestrator.domain.planner import PlanError, definition_from_plan
from flowbus_orchestrator.domain.validation import DefinitionError, parse_definition
from flowbus_shared.plans import PLAN_SCHEMA, PLANNER_PROMPT

SYSTEM_PROMPT = f"{PLANNER_PROMPT} The schema: {json.dumps(PLAN_SCHEMA)}"


class GenerationFailed(Exception):
    """No valid definition came of the request; `reason` says why, `faults` list validation faults."""

    def __init__(self, reason: str, faults: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.faults = faults or []


def _json_in(content: str) -> Any:
    fenced = re.search(r"```(?:json)?\s*(.*?)```", content, re.S)
    return json.loads(fenced.group(1) if fenced else content)


class WorkflowGenerator:
    def __init__(self, client: httpx.AsyncClient, definitions: DefinitionRepository, *, model: str) -> None:
        self._client = client  # base_url: the llm-gateway's OpenAI-compatible API
        self._definitions = definitions
        self._model = model

    async def generate(self, request: str, *, tenant_id: str = "default") -> WorkflowDefinition:
        if not request.strip():
            raise GenerationFailed("the request is empty")
        try:
            response = await self._client.post(
                "chat/completions",
                json={
                    "model": self._model,
                    "messages": [
                        {"role": "system", "content": SYSTEM_PROMPT},
                        {"role": "user", "content": request},
                    ],
                    "response_format": {
                        "type": "json_schema",
                        "json_schema": {"name": "workflow_plan", "schema": PLAN_SCHEMA},
                    },
                    "user": tenant_id,
                },
            )
        except httpx.HTTPError as error:
            raise GenerationFailed(f"the llm-gateway could not be reached: {type(error).__name__}") from None
        if response.status_code != 200:
            raise GenerationFailed(f"the llm-gateway answered {response.status_code}")
        try:
            content = response.json()["choices"][0]["message"]["content"]
            data = definition_from_plan(_json_in(content), request)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            reason = str(error) if isinstance(error, PlanError) else f"the plan is not usable JSON ({error})"
            raise GenerationFailed(reason) from None
        try:
            definition = parse_definition(data)
        except DefinitionError as error:
            raise GenerationFailed(
                "the generated definition is invalid", [str(f) for f in error.faults]
            ) from None
        return await self._definitions.register(definition)
