"""Google Gemini over the Generative Language API (`generateContent`, `streamGenerateContent?alt=sse`).

The key goes in the `x-goog-api-key` header, never the URL, and is scrubbed from every error
text. Gemini names the assistant `model`, answers tool calls as `functionResponse` parts of a
`user` turn, and (in older versions) gives function calls no id, so `call_<index>` stands in.
Thought parts become reasoning; thinking tokens are billed as output. A stream has no
`[DONE]`: it ends when the connection closes, and only a chunk with a finishReason makes
it complete; usage in the chunks is cumulative, so the last one wins.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
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

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
_FILTERED = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
_RETRYABLE_STATUSES = {"UNAVAILABLE", "RESOURCE_EXHAUSTED", "INTERNAL", "DEADLINE_EXCEEDED", "ABORTED"}


class Gemini:
    """The Gemini adapter; stateless, so one instance serves every endpoint."""

    name = "gemini"

    async def complete(
        self, client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest
    ) -> ChatResponse:
        url = f"{_base(endpoint)}/v1beta/models/{request.model}:generateContent"
        try:
            response = await client.post(url, json=build_body(request), headers=_headers(endpoint))
        except httpx.HTTPError as exc:
            raise transport_error(self.name, exc, endpoint) from None
        if response.status_code != 200:
            raise self._http_error(response.status_code, response.content, response.headers, endpoint)
        try:
            data = response.json()
        except ValueError:
            raise ProviderError(self.name, "bad_response", "response is not JSON", retryable=True) from None
        if not isinstance(data, dict):
            raise ProviderError(self.name, "bad_response", "response is not an object", retryable=True)
        self._check_chunk(data, endpoint)
        candidate = _candidate(data)
        content, reasoning, calls = _parts(candidate, 0)
        return ChatResponse(
            id=str(data.get("responseId") or f"gemini-{uuid.uuid4().hex}"),
            provider=self.name,
            model=str(data.get("modelVersion") or request.model),
            content=content,
            reasoning=reasoning,
            tool_calls=calls,
            finish_reason=_finish(candidate.get("finishReason"), bool(calls)) or "stop",
            usage=_usage(data.get("usageMetadata")),
        )

    async def stream(
        self, client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest
    ) -> AsyncIterator[StreamDelta]:
        url = f"{_base(endpoint)}/v1beta/models/{request.model}:streamGenerateContent"
        finish_raw: str | None = None
        usage: Usage | None = None
        response_id: str | None = None
        calls_seen = 0
        try:
            async with client.stream(
                "POST", url, params={"alt": "sse"}, json=build_body(request), headers=_headers(endpoint)
            ) as response:
                if response.status_code != 200:
                    body = await response.aread()
                    raise self._http_error(response.status_code, body, response.headers, endpoint)
                async for event in read_events(response.aiter_lines()):
                    chunk = json_chunk(self.name, event.data)
                    if chunk is None:
                        continue
                    self._check_chunk(chunk, endpoint)
                    response_id = response_id or chunk.get("responseId")
                    if chunk.get("usageMetadata"):
                        usage = _usage(chunk["usageMetadata"])
                    candidate = _candidate(chunk)
                    finish_raw = candidate.get("finishReason") or finish_raw
                    content, reasoning, calls = _parts(candidate, calls_seen)
                    calls_seen += len(calls)
                    if content or reasoning or calls:
                        yield StreamDelta(
                            content=content, reasoning=reasoning, tool_calls=calls, response_id=response_id
                        )
        except httpx.HTTPError as exc:
            # Refused before any byte is a connection error; cut off after some, a broken stream.
            streaming = not isinstance(exc, httpx.ConnectError)
            raise transport_error(self.name, exc, endpoint, streaming=streaming) from None
        if finish_raw is None:
            raise ProviderError(
                self.name, "broken_stream", "stream closed without a finishReason", retryable=True
            )
        yield StreamDelta(
            done=True,
            finish_reason=_finish(finish_raw, calls_seen > 0) or "stop",
            usage=usage or Usage(),
            response_id=response_id,
        )

    def _check_chunk(self, data: dict[str, Any], endpoint: Endpoint) -> None:
        """Raise for an error object or a prompt blocked before any candidate."""
        if isinstance(data.get("error"), dict):
            raise self._api_error(data["error"], None, None, endpoint)
        feedback = data.get("promptFeedback") or {}
        if not data.get("candidates") and feedback.get("blockReason"):
            message = f"prompt blocked: {feedback['blockReason']}"
            raise ProviderError(self.name, "content_filter", message, retryable=False)

    def _http_error(
        self, status: int, body: bytes, headers: httpx.Headers, endpoint: Endpoint
    ) -> ProviderError:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if not isinstance(error, dict):
            error = {"message": body.decode(errors="replace")[:500] or f"HTTP {status}"}
        return self._api_error(error, status, headers.get("retry-after"), endpoint)

    def _api_error(
        self, error: dict[str, Any], status: int | None, retry_after: str | None, endpoint: Endpoint
    ) -> ProviderError:
        code = status if status is not None else _int(error.get("code")) or None
        rpc_status = str(error.get("status") or "")
        message = hide_key(str(error.get("message") or rpc_status or f"HTTP {code}"), endpoint)
        if rpc_status:
            message = f"{rpc_status}: {message}"
        if code == 429 or rpc_status == "RESOURCE_EXHAUSTED":
            kind, retryable = "rate_limit", True
        elif code in (401, 403) or rpc_status in ("PERMISSION_DENIED", "UNAUTHENTICATED"):
            kind, retryable = "unauthorized", False
        elif (code is not None and code >= 500) or rpc_status in _RETRYABLE_STATUSES:
            kind, retryable = "server_error", True
        elif code == 404 or rpc_status == "NOT_FOUND":
            kind, retryable = "not_found", False
        else:
            kind, retryable = "bad_request", False
        return ProviderError(
            self.name,
            kind,
            message,
            retryable=retryable,
            status=code,
            retry_after_seconds=_retry_after(retry_after, error) if retryable else None,
        )


def build_body(request: ChatRequest) -> dict[str, Any]:
    """The generateContent request body for `request`."""
    system = [m.content for m in request.messages if m.role == "system" and m.content]
    names = {call.id: call.name for m in request.messages for call in m.tool_calls}
    contents: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "system":
            continue
        role = "model" if message.role == "assistant" else "user"
        parts = _message_parts(message, names)
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)  # Gemini wants turns to alternate
        else:
            contents.append({"role": role, "parts": parts})
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": text} for text in system]}
    config: dict[str, Any] = {}
    if request.max_tokens is not None:
        config["maxOutputTokens"] = request.max_tokens
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.json_schema is not None:
        config["responseMimeType"] = "application/json"
        config["responseSchema"] = {k: v for k, v in request.json_schema.items() if k != "$schema"}
    if config:
        body["generationConfig"] = config
    if request.tools:
        declarations: list[dict[str, Any]] = []
        for tool in request.tools:
            declaration: dict[str, Any] = {"name": tool.name, "description": tool.description}
            if tool.parameters.get("properties") or tool.parameters.get("type") != "object":
                declaration["parameters"] = tool.parameters  # Gemini rejects an empty OBJECT
            declarations.append(declaration)
        body["tools"] = [{"functionDeclarations": declarations}]
    return body


def _message_parts(message: ChatMessage, names: dict[str, str]) -> list[dict[str, Any]]:
    if message.role == "tool":
        name = message.name or names.get(message.tool_call_id or "", "") or "tool"
        try:
            result: Any = json.loads(message.content)
        except ValueError:
            result = message.content
        response = result if isinstance(result, dict) else {"result": result}
        return [{"functionResponse": {"name": name, "response": response}}]
    parts: list[dict[str, Any]] = [{"text": message.content}] if message.content else []
    for call in message.tool_calls:
        try:
            args = json.loads(call.arguments) if call.arguments else {}
        except ValueError:
            args = {}
        part: dict[str, Any] = {
            "functionCall": {"name": call.name, "args": args if isinstance(args, dict) else {}}
        }
        if call.signature:
            part["thoughtSignature"] = call.signature
        parts.append(part)
    return parts


def _candidate(data: dict[str, Any]) -> dict[str, Any]:
    candidates = data.get("candidates") or []
    first = candidates[0] if candidates else {}
    return first if isinstance(first, dict) else {}


def _parts(candidate: dict[str, Any], first_index: int) -> tuple[str, str, list[ToolCall]]:
    """Text, thought text and function calls of a candidate; ids synthesized from `first_index`."""
    content: list[str] = []
    reasoning: list[str] = []
    calls: list[ToolCall] = []
    for part in (candidate.get("content") or {}).get("parts") or []:
        if not isinstance(part, dict):
            continue
        call = part.get("functionCall")
        if isinstance(call, dict):
            index = first_index + len(calls)
            calls.append(
                ToolCall(
                    id=str(call.get("id") or f"call_{index}"),
                    name=str(call.get("name") or ""),
                    arguments=json.dumps(call.get("args") or {}),
                    signature=part.get("thoughtSignature")
                    if isinstance(part.get("thoughtSignature"), str)
                    else None,
                )
            )
        elif isinstance(part.get("text"), str):
            (reasoning if part.get("thought") else content).append(part["text"])
    return "".join(content), "".join(reasoning), calls


def _finish(raw: Any, has_calls: bool) -> FinishReason | None:
    if raw is None:
        return None
    if raw in _FILTERED:
        return "content_filter"
    if raw == "MAX_TOKENS":
        return "length"
    if has_calls:
        return "tool_calls"
    if raw == "STOP":
        return "stop"
    return "error"  # MALFORMED_FUNCTION_CALL, OTHER, LANGUAGE, ...


def _usage(meta: Any) -> Usage:
    if not isinstance(meta, dict):
        return Usage()
    prompt = _int(meta.get("promptTokenCount"))
    cached = _int(meta.get("cachedContentTokenCount"))
    thoughts = _int(meta.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=max(prompt - cached, 0),
        cached_input_tokens=cached,
        output_tokens=_int(meta.get("candidatesTokenCount")) + thoughts,
        reasoning_tokens=thoughts,
    )


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _retry_after(header: str | None, error: dict[str, Any]) -> float | None:
    """Seconds from Retry-After, else from a google.rpc.RetryInfo detail ("37s")."""
    from_header = retry_after_seconds({"retry-after": header} if header else {})
    if from_header is not None:
        return from_header
    for detail in error.get("details") or []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return max(float(delay[:-1]), 0.0)
            except ValueError:
                continue
    return None


def _base(endpoint: Endpoint) -> str:
    return (endpoint.base_url or DEFAULT_BASE_URL).rstrip("/")


def _headers(endpoint: Endpoint) -> dict[str, str]:
    return {"x-goog-api-key": endpoint.api_key}
