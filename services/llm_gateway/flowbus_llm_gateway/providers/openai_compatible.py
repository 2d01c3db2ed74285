"""OpenAI Chat Completions adapter, for OpenAI, DeepSeek and any OpenAI-compatible server
(Ollama, vLLM, ...) addressed by base URL.

POST {base_url}/chat/completions, `Authorization: Bearer <key>` (left out when the key is
empty, as Ollama wants). Usage maps to the gateway's token classes: OpenAI's
`prompt_tokens_details.cached_tokens` and DeepSeek's `prompt_cache_hit_tokens` /
`prompt_cache_miss_tokens` split cached from uncached input; reasoning tokens come from
`completion_tokens_details.reasoning_tokens`; DeepSeek's `reasoning_content` is the reasoning text.

Streaming asks for `stream_options.include_usage`; a compatible server that rejects that option
with a 400 naming it is asked once more without it, and the stream's usage is then unknown
(reported as zeros).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any, Literal

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
from flowbus_llm_gateway.providers.base import Endpoint, ProviderError, json_chunk, transport_error
from flowbus_llm_gateway.providers.sse import read_events
from flowbus_shared.retry_after import retry_after_seconds

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "insufficient_system_resource": "error",  # DeepSeek
}
_RETRYABLE_WORDS = ("overload", "rate limit", "rate_limit", "server_error", "server error", "unavailable")


class OpenAICompatible:
    """A `Provider` over the Chat Completions wire format.

    `max_tokens_field`: OpenAI prefers `max_completion_tokens`; compatible servers want `max_tokens`.
    `include_usage`: ask streams for a final usage chunk (retried without it on a 400 naming it).
    """

    def __init__(
        self,
        name: str = "openai",
        *,
        max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_completion_tokens",
        include_usage: bool = True,
    ) -> None:
        self.name = name
        self.max_tokens_field = max_tokens_field
        self.include_usage = include_usage

    def _body(self, request: ChatRequest, *, stream: bool, include_usage: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": request.model, "messages": [_message(m) for m in request.messages]}
        if request.max_tokens is not None:
            body[self.max_tokens_field] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                }
                for t in request.tools
            ]
        if request.json_schema == {"type": "object"}:  # any JSON object: JSON mode
            body["response_format"] = {"type": "json_object"}
        elif request.json_schema is not None:
            title = str(request.json_schema.get("title") or "response")
            name = re.sub(r"[^a-zA-Z0-9_-]", "_", title)[:64]
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": name,
                    "schema": request.json_schema,
                    "strict": strict_ready(request.json_schema),
                },
            }
        if stream:
            body["stream"] = True
            if include_usage:
                body["stream_options"] = {"include_usage": True}
        return body

    @staticmethod
    def _headers(endpoint: Endpoint) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if endpoint.api_key:
            headers["authorization"] = f"Bearer {endpoint.api_key}"
        return headers

    @staticmethod
    def _url(endpoint: Endpoint) -> str:
        return endpoint.base_url.rstrip("/") + "/chat/completions"

    async def complete(
        self, client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest
    ) -> ChatResponse:
        body = self._body(request, stream=False, include_usage=False)
        try:
            response = await client.post(self._url(endpoint), json=body, headers=self._headers(endpoint))
        except httpx.HTTPError as exc:
            raise transport_error(self.name, exc, endpoint) from None
        if response.status_code >= 400:
            raise self._http_error(response.status_code, response.text, response.headers)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ProviderError(self.name, "bad_response", "the answer is not a JSON object", retryable=True)
        if data.get("error"):
            raise self._error_object(data["error"])
        choices = data.get("choices") or []
        if not choices:
            raise ProviderError(self.name, "bad_response", "the answer has no choices", retryable=True)
        choice = choices[0]
        message = choice.get("message") or {}
        calls = [
            ToolCall(
                id=str(c.get("id") or f"call_{i}"),
                name=str((c.get("function") or {}).get("name") or ""),
                arguments=str((c.get("function") or {}).get("arguments") or ""),
            )
            for i, c in enumerate(message.get("tool_calls") or [])
        ]
        return ChatResponse(
            id=str(data.get("id") or ""),
            provider=self.name,
            model=str(data.get("model") or request.model),
            content=message.get("content") or "",
            reasoning=message.get("reasoning_content") or "",
            tool_calls=calls,
            finish_reason=_finish(choice.get("finish_reason")) or "stop",
            usage=_usage(data.get("usage")),
        )

    async def stream(
        self, client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest
    ) -> AsyncIterator[StreamDelta]:
        include_usage = self.include_usage
        while True:
            body = self._body(request, stream=True, include_usage=include_usage)
            try:
                async with client.stream(
                    "POST", self._url(endpoint), json=body, headers=self._headers(endpoint)
                ) as response:
                    if response.status_code >= 400:
                        text = (await response.aread()).decode(errors="replace")
                        if include_usage and response.status_code == 400 and "stream_options" in text:
                            include_usage = False  # this server does not know the option: once more without
                            continue
                        raise self._http_error(response.status_code, text, response.headers)
                    async for delta in self._read_stream(response):
                        yield delta
                    return
            except httpx.HTTPError as exc:
                raise transport_error(self.name, exc, endpoint) from None

    async def _read_stream(self, response: httpx.Response) -> AsyncIterator[StreamDelta]:
        response_id: str | None = None
        finish: FinishReason | None = None
        usage: Usage | None = None
        fragments: dict[int, dict[str, str]] = {}
        done = False
        try:
            async for event in read_events(response.aiter_lines()):
                if event.data.strip() == "[DONE]":
                    done = True
                    break
                chunk = json_chunk(self.name, event.data)
                if chunk is None:
                    continue
                if chunk.get("error"):
                    raise self._error_object(chunk["error"])
                response_id = chunk.get("id") or response_id
                if chunk.get("usage"):
                    usage = _usage(chunk["usage"])
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    content = delta.get("content") or ""
                    reasoning = delta.get("reasoning_content") or ""
                    if content or reasoning:
                        yield StreamDelta(content=content, reasoning=reasoning, response_id=response_id)
                    for fragment in delta.get("tool_calls") or []:
                        index = int(fragment.get("index", len(fragments)))
                        call = fragments.setdefault(index, {"id": "", "name": "", "arguments": ""})
                        function = fragment.get("function") or {}
                        call["id"] = call["id"] or str(fragment.get("id") or "")
                        call["name"] = call["name"] or str(function.get("name") or "")
                        call["arguments"] += str(function.get("arguments") or "")
                    finish = _finish(choice.get("finish_reason")) or finish
        except httpx.HTTPError as exc:
            raise ProviderError(
                self.name, "broken_stream", f"the stream broke: {type(exc).__name__}", retryable=True
            ) from None
        if not done and finish is None:
            raise ProviderError(
                self.name,
                "broken_stream",
                "the stream ended without [DONE] or a finish reason",
                retryable=True,
            )
        calls = [
            ToolCall(id=c["id"] or f"call_{i}", name=c["name"], arguments=c["arguments"])
            for i, c in sorted(fragments.items())
        ]
        yield StreamDelta(
            tool_calls=calls,
            done=True,
            finish_reason=finish or ("tool_calls" if calls else "stop"),
            usage=usage or Usage(),  # no usage chunk (include_usage off or unsupported): unknown, zeros
            response_id=response_id,
        )

    def _http_error(self, status: int, text: str, headers: httpx.Headers) -> ProviderError:
        if status in (401, 403):  # "Incorrect API key provided: sk-..." may echo the key: say nothing of it
            kind, message, retryable = "unauthorized", f"HTTP {status}: the API key was refused", False
        else:
            message = _error_message(text) or f"HTTP {status}"
            kind, retryable = {429: ("rate_limit", True), 408: ("timeout", True)}.get(
                status, ("server_error", True) if status >= 500 else ("bad_request", False)
            )
        wait = retry_after_seconds(headers) if retryable else None
        return ProviderError(
            self.name, kind, message, retryable=retryable, status=status, retry_after_seconds=wait
        )

    def _error_object(self, error: Any) -> ProviderError:
        if isinstance(error, dict):
            message = str(error.get("message") or error.get("type") or "error")
            words = " ".join(str(error.get(k) or "") for k in ("message", "type", "code")).lower()
        else:
            message = str(error)
            words = message.lower()
        if "rate limit" in words or "rate_limit" in words:
            return ProviderError(self.name, "rate_limit", message, retryable=True)
        if any(w in words for w in _RETRYABLE_WORDS):
            return ProviderError(self.name, "server_error", message, retryable=True)
        return ProviderError(self.name, "stream_error", message, retryable=False)


def _message(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.content}
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.name:
        out["name"] = message.name
    if message.role == "assistant" and message.tool_calls:
        out["content"] = message.content or None
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments or "{}"}}
            for c in message.tool_calls
        ]
    return out


def _finish(reason: Any) -> FinishReason | None:
    if not reason:
        return None
    return _FINISH.get(str(reason), "stop")


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    prompt = _int(raw.get("prompt_tokens"))
    details = raw.get("prompt_tokens_details") or {}
    if "prompt_cache_hit_tokens" in raw or "prompt_cache_miss_tokens" in raw:  # DeepSeek
        cached = _int(raw.get("prompt_cache_hit_tokens"))
        uncached = (
            _int(raw.get("prompt_cache_miss_tokens"))
            if "prompt_cache_miss_tokens" in raw
            else prompt - cached
        )
    else:
        cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
        uncached = prompt - cached
    completion_details = raw.get("completion_tokens_details") or {}
    reasoning = (
        _int(completion_details.get("reasoning_tokens")) if isinstance(completion_details, dict) else 0
    )
    return Usage(
        input_tokens=max(uncached, 0),
        cached_input_tokens=cached,
        output_tokens=_int(raw.get("completion_tokens")),
        reasoning_tokens=reasoning,
    )


def _error_message(text: str) -> str:
    """The provider's own error message: `{"error": {"message"}}` (OpenAI), `{"error": "..."}`
    (Ollama) or `{"message": "..."}` (vLLM)."""
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:300]
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str) and error:
            return error
        if data.get("message"):
            return str(data["message"])
    return text.strip()[:300]


def strict_ready(schema: Any) -> bool:
    """Whether OpenAI's strict structured outputs accept `schema`: every object closed
    (additionalProperties false) with all its properties required. Other schemas are sent
    non-strict (the model is guided, and the gateway validates the answer after)."""
    if isinstance(schema, list):
        return all(strict_ready(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    if schema.get("type") == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        if schema.get("additionalProperties") is not False or set(schema.get("required") or []) != set(
            properties
        ):
            return False
    return all(
        strict_ready(value) for key, value in schema.items() if key not in ("enum", "const", "default")
    )
