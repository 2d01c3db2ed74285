"""What every LLM step shares: calling the gateway on the step's behalf (charged to its
execution, step and agent), mapping the gateway's errors to step failures, and the answer's
provenance fields (provider, model, usage, cost) every result carries."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from flowbus_llm_gateway.gateway import Answer, Charge, DeltaSink, Gateway
from flowbus_llm_gateway.ledger import BudgetExceeded
from flowbus_llm_gateway.model import ChatRequest
from flowbus_llm_gateway.providers.base import ProviderError
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure


async def ask(
    gateway: Gateway,
    request: StepRequest,
    chat: ChatRequest,
    *,
    task_type: str,
    on_delta: DeltaSink | None = None,
) -> Answer:
    """The gateway's answer to `chat` for this step. NoProvider is left to the caller."""
    config = request.config
    charge = Charge(request.idempotency_key, request.execution_id, request.step_id, config.get("agent_id"))
    try:
        return await gateway.complete(
            request.tenant_id,
            chat,
            provider=_text_or_none(config.get("provider")),
            model=_text_or_none(config.get("model")),
            task_type=str(config.get("task_type") or task_type),
            charge=charge,
            on_delta=on_delta,
        )
    except ProviderError as error:
        raise StepFailure(
            error.kind,
            str(error),
            # A stream cut short after output was passed on cannot fall back, but a new attempt may work.
            retryable=error.retryable or error.partial,
            retry_after_seconds=error.retry_after_seconds,
        ) from None
    except BudgetExceeded as error:
        raise StepFailure("budget_exceeded", str(error)) from None


def provenance(answer: Answer) -> dict[str, Any]:
    return {
        "provider": answer.model.provider,
        "model": answer.model.model,
        "usage": answer.response.usage.model_dump(),
        "cost_usd": answer.cost_usd,
        "complexity": str(answer.complexity),
        "finish_reason": answer.response.finish_reason,
    }


def checked_schema(value: Any) -> dict[str, Any]:
    """The step's JSON schema, refused (permanently) when it is not one."""
    if not isinstance(value, dict):
        raise StepFailure("invalid_config", "output_schema must be a JSON Schema object")
    try:
        jsonschema.Draft202012Validator.check_schema(value)
    except jsonschema.SchemaError as error:
        raise StepFailure(
            "invalid_config", f"output_schema is not a valid JSON Schema: {error.message}"
        ) from None
    return value


def structured(content: str, schema: dict[str, Any]) -> Any:
    """The model's answer parsed and validated against `schema`; a wrong answer is retryable
    (another attempt, or another model, may well answer properly)."""
    try:
        value = json.loads(content)
    except ValueError:
        raise StepFailure("bad_response", "the model's answer is not JSON", retryable=True) from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise StepFailure(
            "bad_response",
            f"the model's answer does not match the schema at {where}: {error.message}",
            retryable=True,
        )
    return value


def max_tokens(config: dict[str, Any], default: int) -> int:
    value = config.get("max_tokens", default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise StepFailure("invalid_config", "max_tokens must be a positive integer")
    return value


def _text_or_none(value: Any) -> str | None:
    return str(value) if value else None
