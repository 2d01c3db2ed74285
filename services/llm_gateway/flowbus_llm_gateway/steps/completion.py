"""llm_completion: a prompt (or a conversation) answered by the routed providers.

Config: `prompt` or `messages` ([{role, content}]), optional `system_prompt`, `provider`,
`model`, `max_tokens`, `temperature`, `task_type`, `agent_id`, and `output_schema` (a JSON
Schema: the answer is then asked for as structured output and validated against it).
Output: `text`, `output` (the parsed value, with a schema), `finish_reason`, provider,
model, usage, cost and complexity. Text output is streamed to `flowbus.llm-tokens` as it
is written (`stream: false` turns that off).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from flowbus_llm_gateway.gateway import Gateway, NoProvider
from flowbus_llm_gateway.model import ChatMessage, ChatRequest
from flowbus_llm_gateway.steps.calling import ask, checked_schema, max_tokens, provenance, structured
from flowbus_llm_gateway.steps.token_stream import PublishToken, TokenStream
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler


def conversation(config: dict[str, Any]) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    if config.get("system_prompt"):
        messages.append(ChatMessage(role="system", content=str(config["system_prompt"])))
    if "messages" in config:
        raw = config["messages"]
        if not isinstance(raw, list) or not raw:
            raise StepFailure("invalid_config", "messages must be a non-empty list of {role, content}")
        for index, item in enumerate(raw):
            try:
                messages.append(ChatMessage.model_validate(item))
            except ValidationError as error:
                reason = error.errors()[0]
                raise StepFailure(
                    "invalid_config",
                    f"messages[{index}]: {'.'.join(map(str, reason['loc']))}: {reason['msg']}",
                ) from None
    else:
        prompt = config.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise StepFailure(
                "invalid_config", "llm_completion needs prompt (a non-empty string) or messages"
            )
        messages.append(ChatMessage(role="user", content=prompt))
    return messages


def _temperature(config: dict[str, Any]) -> float | None:
    value = config.get("temperature")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 2:
        raise StepFailure("invalid_config", "temperature must be a number from 0 to 2")
    return float(value)


def llm_completion_handler(gateway: Gateway, publish_token: PublishToken | None) -> StepHandler:
    async def llm_completion(request: StepRequest) -> dict[str, Any]:
        config = request.config
        schema = checked_schema(config["output_schema"]) if "output_schema" in config else None
        chat = ChatRequest(
            model="",
            messages=conversation(config),
            json_schema=schema,
            max_tokens=max_tokens(config, 1024),
            temperature=_temperature(config),
        )
        streaming = publish_token is not None and schema is None and config.get("stream", True) is not False
        try:
            if streaming and publish_token is not None:
                async with TokenStream(publish_token, request) as tokens:
                    answer = await ask(gateway, request, chat, task_type="general", on_delta=tokens.put)
                    await tokens.finish(answer)
            else:
                answer = await ask(gateway, request, chat, task_type="general")
        except NoProvider as error:
            raise StepFailure("no_provider", str(error)) from None
        result: dict[str, Any] = {"text": answer.response.content, **provenance(answer)}
        if schema is not None:
            result["output"] = structured(answer.response.content, schema)
        return result

    return llm_completion
