"""Dynamic workflows: a natural-language request -> a plan from the llm-gateway (its
OpenAI-compatible chat API) -> a definition, validated like any other and stored
only if valid."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from pydantic import SecretStr

from flowbus_orchestrator.adapters.definitions import DefinitionRepository
from flowbus_orchestrator.domain.definitions import WorkflowDefinition
from flowbus_orchestrator.domain.planner import PlanError, definition_from_plan
from flowbus_orchestrator.domain.validation import DefinitionError, parse_definition
from flowbus_shared.http.security import TENANT_HEADER
from flowbus_shared.plans import PLAN_SCHEMA, PLANNER_PROMPT

SYSTEM_PROMPT = f"{PLANNER_PROMPT} The schema: {json.dumps(PLAN_SCHEMA)}"


class GenerationFailed(Exception):
    """No valid definition came of the request; `reason` says why, `faults` list validation
    faults, `upstream` tells that the llm-gateway failed (rather than the plan)."""

    def __init__(self, reason: str, faults: list[str] | None = None, *, upstream: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.faults = faults or []
        self.upstream = upstream


def _json_in(content: str) -> Any:
    fenced = re.search(r"```(?:json)?\s*(.*?)```", content, re.S)
    return json.loads(fenced.group(1) if fenced else content)


def _reason_of(response: httpx.Response) -> str:
    """The gateway's own explanation (a problem's detail), briefly."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    detail = body.get("detail") or (error.get("message") if isinstance(error, dict) else None)
    return f": {str(detail)[:300]}" if detail else ""


class WorkflowGenerator:
    """Asks the llm-gateway as the caller's tenant: a `service` key and `X-Flowbus-Tenant`, so
    the tenant's keys, budgets and usage apply."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        definitions: DefinitionRepository,
        *,
        model: str,
        api_key: SecretStr | None = None,
    ) -> None:
        self._client = client  # base_url: the llm-gateway's OpenAI-compatible API
        self._definitions = definitions
        self._model = model
        self._api_key = api_key

    async def generate(self, request: str, *, tenant_id: str = "default") -> WorkflowDefinition:
        """A valid definition for `request`, stored as the tenant's."""
        return await self._definitions.register(
            await self.draft(request, tenant_id=tenant_id), tenant_id=tenant_id
        )

    async def draft(self, request: str, *, tenant_id: str) -> WorkflowDefinition:
        """A valid definition for `request`, not stored."""
        if not request.strip():
            raise GenerationFailed("the request is empty")
        headers = {TENANT_HEADER: tenant_id}
        if self._api_key is not None:
            headers["authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        try:
            response = await self._client.post(
                "chat/completions",
                headers=headers,
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
                },
            )
        except httpx.HTTPError as error:
            raise GenerationFailed(
                f"the llm-gateway could not be reached: {type(error).__name__}", upstream=True
            ) from None
        if response.status_code != 200:
            raise GenerationFailed(
                f"the llm-gateway answered {response.status_code}{_reason_of(response)}", upstream=True
            )
        try:
            content = response.json()["choices"][0]["message"]["content"]
            data = definition_from_plan(_json_in(content), request)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            reason = str(error) if isinstance(error, PlanError) else f"the plan is not usable JSON ({error})"
            raise GenerationFailed(reason) from None
        try:
            return parse_definition(data)
        except DefinitionError as error:
            raise GenerationFailed(
                "the generated definition is invalid", [str(f) for f in error.faults]
            ) from None
