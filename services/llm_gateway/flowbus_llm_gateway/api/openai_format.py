"""The OpenAI Chat Completions wire format on the gateway's side: requests in, completions
and SSE chunks out, so the official OpenAI SDKs work against the gateway unchanged.

`model` is "provider/model", a bare model name (any provider serving it), or "auto" (or
empty) to let the gateway route by complexity and price. Parameters the gateway does not
use (n=1, top_p, seed, user, ...) are accepted and ignored, as LiteLLM's drop_params does;
ones it cannot honour (n > 1, non-text content parts) are refused with a reason.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flowbus_llm_gateway.gateway import Answer
from flowbus_llm_gateway.model import ChatMessage, ChatRequest, StreamDelta, Tool, ToolCall, Usage
from flowbus_shared.http import ApiError

JSON_OBJECT: dict[str, Any] = {"type": "object"}


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class FunctionSpec(_Lenient):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ToolSpec(_Lenient):
    type: Literal["function"] = "function"
    function: FunctionSpec


class CallFunction(_Lenient):
    name: str
    arguments: str = ""


class CallSpec(_Lenient):
    id: str
    type: Literal["function"] = "function"
    function: CallFunction
    # Where Google's OpenAI-compatible API puts a Gemini thought signature.
    extra_content: dict[str, Any] | None = None

    def signature(self) -> str | None:
        google = (self.extra_content or {}).get("google")
        found = google.get("thought_signature") if isinstance(google, dict) else None
        return found if isinstance(found, str) else None


class MessageIn(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[CallSpec] | None = None
    tool_call_id: str | None = None


class StreamOptions(_Lenient):
    include_usage: bool = False


class CompletionIn(_Lenient):
    """The body of POST /v1/chat/completions."""

    model: str = ""
    messages: list[MessageIn] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    tools: list[ToolSpec] | None = None
    response_format: dict[str, Any] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(default=1, ge=1)


def _text(message: MessageIn, index: int) -> str:
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    texts: list[str] = []
    for part in message.content:
        if part.get("type") != "text":
            raise ApiError(400, f"messages[{index}]: content part type {part.get('type')!r} is not supported")
        texts.append(str(part.get("text") or ""))
    return "".join(texts)


def _schema(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    if not response_format or response_format.get("type") in (None, "text"):
        return None
    if response_format.get("type") == "json_object":
        return JSON_OBJECT
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise ApiError(400, "response_format.json_schema.schema must be a JSON Schema object")
        return dict(spec["schema"])
    raise ApiError(400, f"response_format type {response_format.get('type')!r} is not supported")


def to_chat_request(body: CompletionIn) -> ChatRequest:
    if body.n != 1:
        raise ApiError(400, "n must be 1: the gateway returns one choice")
    messages = [
        ChatMessage(
            role="system" if m.role == "developer" else m.role,
            content=_text(m, i),
            name=m.name,
            tool_call_id=m.tool_call_id,
            tool_calls=[
                ToolCall(
                    id=c.id, name=c.function.name, arguments=c.function.arguments, signature=c.signature()
                )
                for c in m.tool_calls or []
            ],
        )
        for i, m in enumerate(body.messages)
    ]
    tools = [
        Tool(name=t.function.name, description=t.function.description, parameters=t.function.parameters)
        for t in body.tools or []
    ]
    return ChatRequest(
        model="",
        messages=messages,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        temperature=body.temperature,
        tools=tools,
        json_schema=_schema(body.response_format),
        stream=body.stream,
    )


def model_choice(model: str) -> tuple[str | None, str | None]:
    """(provider, model) to route to; (None, None) for automatic routing."""
    if model in ("", "auto", "flowbus/auto"):
        return None, None
    if "/" in model:
        provider, name = model.split("/", 1)
        return provider, name
    return None, model


def usage_out(usage: Usage) -> dict[str, Any]:
    prompt = usage.input_tokens + usage.cached_input_tokens + usage.cache_write_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def calls_out(calls: list[ToolCall], *, indexed: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, c in enumerate(calls):
        call: dict[str, Any] = {
            **({"index": i} if indexed else {}),
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": c.arguments},
        }
        if c.signature:  # as Google's OpenAI-compatible API returns it, to be sent back next turn
            call["extra_content"] = {"google": {"thought_signature": c.signature}}
        out.append(call)
    return out


def extension(answer: Answer) -> dict[str, Any]:
    """What the gateway adds to a completion: who answered and what it cost."""
    return {
        "provider": answer.model.provider,
        "cost_usd": answer.cost_usd,
        "complexity": str(answer.complexity),
    }


class Completion:
    """One completion's identity, shared by its whole answer or all of its chunks."""

    def __init__(self) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def whole(self, answer: Answer) -> dict[str, Any]:
        response = answer.response
        message: dict[str, Any] = {"role": "assistant", "content": response.content or None}
        if response.tool_calls:
            message["tool_calls"] = calls_out(response.tool_calls, indexed=False)
        if response.reasoning:
            message["reasoning_content"] = response.reasoning
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": answer.model.key,
            "choices": [{"index": 0, "message": message, "finish_reason": _finish(response.finish_reason)}],
            "usage": usage_out(response.usage),
            "flowbus": extension(answer),
        }

    def chunk(self, model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return sse(body)

    def delta_chunk(self, model: str, delta: StreamDelta) -> bytes:
        out: dict[str, Any] = {}
        if delta.content:
            out["content"] = delta.content
        if delta.reasoning:
            out["reasoning_content"] = delta.reasoning
        # Tool calls go out whole in the closing chunks, once every fragment has arrived.
        return self.chunk(model, out)

    def closing_chunks(self, answer: Answer, *, include_usage: bool) -> bytes:
        model = answer.model.key
        out = b""
        if answer.response.tool_calls:
            out += self.chunk(model, {"tool_calls": calls_out(answer.response.tool_calls, indexed=True)})
        out += self.chunk(model, {}, _finish(answer.response.finish_reason))
        if include_usage:
            out += sse(
                {
                    "id": self.id,
                    "object": "chat.completion.chunk",
                    "created": self.created,
                    "model": model,
                    "choices": [],
                    "usage": usage_out(answer.response.usage),
                    "flowbus": extension(answer),
                }
            )
        return out + b"data: [DONE]\n\n"


def sse(body: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(body, separators=(',', ':'))}\n\n".encode()


def _finish(reason: str) -> str:
    return "stop" if reason == "error" else reason
