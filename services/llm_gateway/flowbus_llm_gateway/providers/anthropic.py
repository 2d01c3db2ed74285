"""Anthropic's Messages API (POST /v1/messages), mapped to and from the gateway's model.

System messages become the top-level `system` string; assistant tool calls become `tool_use`
content blocks and tool answers `tool_result` blocks in a user message. Structured output is a
forced tool named `respond` whose input is returned as the JSON content. Anthropic's
`input_tokens` exclude cache reads and writes, which are reported (and billed) apart.
Streams are server-sent events; `message_delta` usage is cumulative, so the last value wins.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from flowbus_llm_gateway.model import (
    ChatMessage,
    ChatRequest,
    ChatResponse,
    FinishReason,
    StreamDelta,
    ToolCall,
    Usage,
)
from flowbus_llm_gateway.providers.base import Endpoint, ProviderError, hide_key, json_chunk, transport_error
from flowbus_llm_gateway.providers.sse import read_events
from flowbus_shared.retry_after import retry_after_seconds

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
RESPOND_TOOL = "respond"  # the forced tool carrying structured output

_STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# Anthropic's error types (in bodies and mid-stream `error` events) -> (kind, retryable).
_ERROR_TYPES: dict[str, tuple[str, bool]] = {
    "invalid_request_error": ("bad_request", False),
    "request_too_large": ("bad_request", False),
    "authentication_error": ("unauthorized", False),
    "permission_error": ("unauthorized", False),
    "billing_error": ("unauthorized", False),
    "not_found_error": ("not_found", False),
    "rate_limit_error": ("rate_limit", True),
    "api_error": ("server_error", True),
    "overloaded_error": ("overloaded", True),
}


def _finish(stop_reason: str | None, structured: bool) -> FinishReason:
    if structured and stop_reason == "tool_use":
        return "stop"  # the forced `respond` tool is the answer, not a call to make
    return _STOP_REASONS.get(stop_reason or "", "stop")


def _usage(raw: dict[str, Any]) -> Usage:
    return Usage(
        input_tokens=int(raw.get("input_tokens") or 0),
        cached_input_tokens=int(raw.get("cache_read_input_tokens") or 0),
        cache_write_tokens=int(raw.get("cache_creation_input_tokens") or 0),
        output_tokens=int(raw.get("output_tokens") or 0),
    )


class Anthropic:
    """The Anthropic Messages API provider adapter."""

    name = "anthropic"

    def _call(self, endpoint: Endpoint, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        """httpx arguments of the POST: url, headers, json body."""
        headers = {"x-api-key": endpoint.api_key, "anthropic-version": API_VERSION}
        url = f"{(endpoint.base_url or DEFAULT_BASE_URL).rstrip('/')}/v1/messages"
        return {"url": url, "headers": headers, "json": self.body(request, stream=stream)}

    def _fail(self, kind: str, message: str, *, retryable: bool, status: int | None = None) -> ProviderError:
        return ProviderError(self.name, kind, message, retryable=retryable, status=status)

    def _tool_input(self, call: ToolCall) -> Any:
        try:
            return json.loads(call.arguments) if call.arguments.strip() else {}
        except ValueError:
            raise self._fail("bad_request", f"tool call {call.id}: bad JSON", retryable=False) from None

    def _message(self, message: ChatMessage) -> dict[str, Any]:
        if message.role == "tool":
            result = {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.content}
            return {"role": "user", "content": [result]}
        if message.role == "assistant" and message.tool_calls:
            blocks: list[dict[str, Any]] = [{"type": "text", "text": message.content}] * bool(message.content)
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": self._tool_input(c)}
                for c in message.tool_calls
            ]
            return {"role": "assistant", "content": blocks}
        return {"role": message.role, "content": message.content}

    def body(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        """The Messages API request body for `request`."""
        system = [m.content for m in request.messages if m.role == "system"]
        messages: list[dict[str, Any]] = []
        for message in request.messages:
            if message.role == "system":
                continue
            converted = self._message(message)
            last = messages[-1] if messages else {}
            # Consecutive tool answers go back together, in one user turn (only they make user lists).
            if message.role == "tool" and last.get("role") == "user" and isinstance(last["content"], list):
                last["content"].extend(converted["content"])
            else:
                messages.append(converted)
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": messages,
        }
        if system:
            body["system"] = "\n\n".join(system)
        if request.temperature is not None:
            body["temperature"] = min(request.temperature, 1.0)  # Anthropic's range is 0..1
        tools = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in request.tools
        ]
        if request.json_schema is not None:
            tools.append(
                {"name": RESPOND_TOOL, "description": "Give the answer.", "input_schema": request.json_schema}
            )
            body["tool_choice"] = {"type": "tool", "name": RESPOND_TOOL}
        if tools:
            body["tools"] = tools
        if stream:
            body["stream"] = True
        return body

    def _http_error(self, response: httpx.Response, endpoint: Endpoint) -> ProviderError:
        status = response.status_code
        error_type, message = "", response.reason_phrase or f"HTTP {status}"
        try:
            error = response.json().get("error") or {}
            error_type, message = str(error.get("type") or ""), str(error.get("message") or message)
        except (ValueError, AttributeError):
            pass
        message = hide_key(message, endpoint)
        if status in (401, 403):
            kind, retryable = "unauthorized", False
        elif status == 429 or status >= 500:  # 529: Anthropic is overloaded
            kind, retryable = {429: "rate_limit", 529: "overloaded"}.get(status, "server_error"), True
        else:
            kind, retryable = _ERROR_TYPES.get(error_type, ("bad_request", False))
        if error_type:
            message = f"{error_type}: {message}"
        return ProviderError(
            self.name, kind, message, retryable=retryable, status=status,
            retry_after_seconds=retry_after_seconds(response.headers),
        )  # fmt: skip

    async def complete(
        self, client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest
    ) -> ChatResponse:
        """One whole answer."""
        try:
            response = await client.post(**self._call(endpoint, request, stream=False))
        except httpx.HTTPError as exc:
            raise transport_error(self.name, exc, endpoint, streaming=False) from None
        if response.status_code != 200:
            raise self._http_error(response, endpoint)
        try:
            data = response.json()
            blocks: list[dict[str, Any]] = list(data.get("content") or [])
        except (ValueError, AttributeError, TypeError):
            raise self._fail("bad_response", "not a Messages answer", retryable=True, status=200) from None
        structured = request.json_schema is not None
        content: list[str] = []
        reasoning: list[str] = []
        calls: list[ToolCall] = []
        for block in blocks:
            kind = block.get("type")
            if kind == "text":
                content.append(str(block.get("text") or ""))
            elif kind == "thinking":
                reasoning.append(str(block.get("thinking") or ""))
            elif kind == "tool_use":
                arguments = json.dumps(block.get("input") or {})
                if structured and block.get("name") == RESPOND_TOOL:
                    content.append(arguments)
                else:
                    calls.append(
                        ToolCall(id=str(block.get("id")), name=str(block.get("name")), arguments=arguments)
                    )
        return ChatResponse(
            id=str(data.get("id") or ""),
            provider=self.name,
            model=str(data.get("model") or request.model),
            content="".join(content),
            reasoning="".join(reasoning),
            tool_calls=calls,
            finish_reason=_finish(data.get("stop_reason"), structured),
            usage=_usage(data.get("usage") or {}),
        )

    async def stream(
        self, client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest
    ) -> AsyncIterator[StreamDelta]:
        """Deltas as they arrive; tool calls whole at the end; the last has `done` and usage."""
        state = _StreamState(structured=request.json_schema is not None)
        try:
            async with client.stream("POST", **self._call(endpoint, request, stream=True)) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise self._http_error(response, endpoint)
                async for event in read_events(response.aiter_lines()):
                    data = json_chunk(self.name, event.data)
                    if data is None:
                        continue
                    if data.get("type") == "error" or event.event == "error":
                        error = data.get("error") or {}
                        error_type = str(error.get("type") or "api_error")
                        kind, retryable = _ERROR_TYPES.get(error_type, ("stream_error", True))
                        message = hide_key(f"{error_type}: {error.get('message')}", endpoint)
                        raise self._fail(kind, message, retryable=retryable)
                    for delta in state.feed(data):
                        yield delta
                    if state.stopped:
                        break
        except httpx.HTTPError as exc:
            raise transport_error(self.name, exc, endpoint, streaming=True) from None
        if not state.stopped:
            raise self._fail("broken_stream", "the stream ended before message_stop", retryable=True)
        if state.calls:
            yield StreamDelta(tool_calls=state.calls, response_id=state.response_id)
        yield StreamDelta(
            done=True,
            finish_reason=state.finish_reason(),
            usage=_usage(state.usage),
            response_id=state.response_id,
        )


@dataclass
class _Block:
    type: str
    id: str = ""
    name: str = ""
    json_parts: list[str] = field(default_factory=list)


@dataclass
class _StreamState:
    """What a stream has said so far: open content blocks, usage, the stop reason."""

    structured: bool
    response_id: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    stop_reason: str | None = None
    blocks: dict[int, _Block] = field(default_factory=dict)
    calls: list[ToolCall] = field(default_factory=list)
    stopped: bool = False

    def finish_reason(self) -> FinishReason:
        return _finish(self.stop_reason, self.structured)

    def _is_answer(self, block: _Block) -> bool:
        return self.structured and block.type == "tool_use" and block.name == RESPOND_TOOL

    def _take_usage(self, raw: Any) -> None:
        if isinstance(raw, dict):
            self.usage.update({k: v for k, v in raw.items() if isinstance(v, int)})

    def feed(self, data: dict[str, Any]) -> list[StreamDelta]:
        """Take one event; return the deltas it yields at once."""
        kind = data.get("type")
        index = int(data.get("index") or 0)
        if kind == "message_start":
            message = data.get("message") or {}
            self.response_id = message.get("id") or self.response_id
            self._take_usage(message.get("usage"))
        elif kind == "content_block_start":
            raw = data.get("content_block") or {}
            block = _Block(str(raw.get("type")), str(raw.get("id") or ""), str(raw.get("name") or ""))
            self.blocks[index] = block
            if block.type == "text" and raw.get("text"):
                return [StreamDelta(content=str(raw["text"]), response_id=self.response_id)]
            if block.type == "thinking" and raw.get("thinking"):
                return [StreamDelta(reasoning=str(raw["thinking"]), response_id=self.response_id)]
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            delta_type = delta.get("type")
            if delta_type == "text_delta" and delta.get("text"):
                return [StreamDelta(content=str(delta["text"]), response_id=self.response_id)]
            if delta_type == "thinking_delta" and delta.get("thinking"):
                return [StreamDelta(reasoning=str(delta["thinking"]), response_id=self.response_id)]
            if delta_type == "input_json_delta":
                part = str(delta.get("partial_json") or "")
                block = self.blocks.setdefault(index, _Block(type="tool_use"))
                block.json_parts.append(part)
                if self._is_answer(block) and part:
                    return [StreamDelta(content=part, response_id=self.response_id)]
        elif kind == "content_block_stop":
            block = self.blocks.pop(index, _Block(type=""))
            if block.type == "tool_use" and not self._is_answer(block):
                arguments = "".join(block.json_parts) or "{}"
                self.calls.append(ToolCall(id=block.id, name=block.name, arguments=arguments))
        elif kind == "message_delta":
            self.stop_reason = (data.get("delta") or {}).get("stop_reason") or self.stop_reason
            self._take_usage(data.get("usage"))  # cumulative: the latest value replaces, never adds
        elif kind == "message_stop":
            self.stopped = True
        return []  # ping and unknown events
