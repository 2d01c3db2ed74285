"""Asking a model from an executor step: through the llm-gateway's OpenAI-compatible API, as
the step's tenant (a `service` API key with `X-Flowbus-Tenant`), so routing, keys, budgets
and usage are the gateway's. Structured answers are validated against the asked schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.http import json_body, send
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure

SERVICE = "llm-gateway"


def _headers(deps: ExecutorDeps, request: StepRequest) -> dict[str, str]:
    headers = {"x-flowbus-tenant": request.tenant_id}
    key = deps.settings.llm_gateway_api_key
    if key is not None:
        headers["authorization"] = f"Bearer {key.get_secret_value()}"
    agent = request.config.get("agent_id")
    if isinstance(agent, str) and agent:
        headers["x-flowbus-agent-id"] = agent
    return headers


async def chat(
    deps: ExecutorDeps,
    request: StepRequest,
    messages: list[dict[str, Any]],
    *,
    schema: dict[str, Any] | None = None,
    tools: list[dict[str, Any]] | None = None,
    max_tokens: int = 1024,
) -> dict[str, Any]:
    """The gateway's whole chat completion (OpenAI shape) for `messages`."""
    base = deps.settings.llm_gateway_url
    if not base:
        raise StepFailure("no_llm_gateway", "this step asks a model: set FLOWBUS_LLM_GATEWAY_URL")
    body: dict[str, Any] = {
        "model": str(request.config.get("model") or "auto"),
        "messages": messages,
        "max_tokens": max_tokens,
    }
    if schema is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
    if tools:
        body["tools"] = tools
    secrets = (
        [deps.settings.llm_gateway_api_key.get_secret_value()] if deps.settings.llm_gateway_api_key else []
    )
    response = await send(
        deps.http,
        "POST",
        f"{base.rstrip('/')}/chat/completions",
        request=request,
        service=SERVICE,
        secrets=secrets,
        json=body,
        headers=_headers(deps, request),
    )
    answer = json_body(response, service=SERVICE)
    if not isinstance(answer, dict) or not answer.get("choices"):
        raise StepFailure("bad_response", "the llm-gateway answered without choices", retryable=True)
    return answer


def message_of(answer: dict[str, Any]) -> dict[str, Any]:
    message = answer["choices"][0].get("message")
    return message if isinstance(message, dict) else {}


async def ask_text(
    deps: ExecutorDeps, request: StepRequest, system: str, user: str, *, max_tokens: int = 1024
) -> str:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    answer = await chat(deps, request, messages, max_tokens=max_tokens)
    return str(message_of(answer).get("content") or "")


async def ask_json(
    deps: ExecutorDeps,
    request: StepRequest,
    system: str,
    user: str,
    schema: dict[str, Any],
    *,
    max_tokens: int = 2048,
) -> Any:
    """A JSON answer validated against `schema` (a wrong one is a retryable bad_response)."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    content = str(
        message_of(await chat(deps, request, messages, schema=schema, max_tokens=max_tokens)).get("content")
        or ""
    )
    try:
        value = json.loads(content)
    except ValueError:
        raise StepFailure("bad_response", "the model's answer is not JSON", retryable=True) from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    if error is not None:
        raise StepFailure("bad_response", f"the model's answer does not fit: {error.message}", retryable=True)
    return value
