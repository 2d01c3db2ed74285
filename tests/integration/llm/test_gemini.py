"""The Gemini adapter against a real loopback server replaying Gemini's documented wire format:
generateContent bodies, `alt=sse` streams (no [DONE], usage cumulative) and google.rpc errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from flowbus_llm_gateway.model import ChatMessage, ChatRequest, StreamDelta, Tool, ToolCall
from flowbus_llm_gateway.providers.base import Endpoint, ProviderError
from flowbus_llm_gateway.providers.gemini import Gemini
from tests.support.http_double import Recorded, http_double

KEY = "AIzaSyTEST-never-show-this-key-0123456789"
MODEL = "gemini-2.5-flash"
SSE = {"content-type": "text/event-stream"}

THINKING_RESPONSE = b"""{
  "candidates": [
    {
      "content": {
        "parts": [
          {
            "text": "**Weighing the options**\\n\\nThe user wants a one-word answer about the sky.",
            "thought": true
          },
          {
            "text": "Blue."
          }
        ],
        "role": "model"
      },
      "finishReason": "STOP",
      "index": 0
    }
  ],
  "usageMetadata": {
    "promptTokenCount": 2100,
    "candidatesTokenCount": 2,
    "totalTokenCount": 2250,
    "cachedContentTokenCount": 2048,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 2100}],
    "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 2048}],
    "thoughtsTokenCount": 148
  },
  "modelVersion": "gemini-2.5-flash",
  "responseId": "mVe3aOKnCYuBz7IPkbDq4QU"
}"""

FUNCTION_CALL_RESPONSE = b"""{
  "candidates": [
    {
      "content": {
        "parts": [
          {
            "functionCall": {
              "name": "get_weather",
              "args": {"location": "Paris", "unit": "celsius"}
            }
          },
          {
            "functionCall": {
              "name": "get_time",
              "args": {"timezone": "Europe/Paris"}
            }
          }
        ],
        "role": "model"
      },
      "finishReason": "STOP",
      "index": 0
    }
  ],
  "usageMetadata": {
    "promptTokenCount": 61,
    "candidatesTokenCount": 24,
    "totalTokenCount": 85
  },
  "modelVersion": "gemini-2.0-flash"
}"""

PROMPT_BLOCKED = b"""{
  "promptFeedback": {
    "blockReason": "SAFETY",
    "safetyRatings": [
      {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
      {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
      {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
      {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
    ]
  },
  "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
  "modelVersion": "gemini-2.0-flash"
}"""

# Gemini separates events with CRLF pairs and ends the stream by closing the connection.
TEXT_STREAM = (
    b'data: {"candidates": [{"content": {"parts": [{"text": "The"}],"role": "model"},"index": 0}],'
    b'"usageMetadata": {"promptTokenCount": 9,"totalTokenCount": 9},'
    b'"modelVersion": "gemini-2.0-flash","responseId": "Xv63aKrQBIaUz7IP4ZPQqAc"}\r\n\r\n'
    b'data: {"candidates": [{"content": {"parts": [{"text": " sky is blue because of Rayleigh"}],'
    b'"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 9,"totalTokenCount": 9},'
    b'"modelVersion": "gemini-2.0-flash","responseId": "Xv63aKrQBIaUz7IP4ZPQqAc"}\r\n\r\n'
    b'data: {"candidates": [{"content": {"parts": [{"text": " scattering."}],"role": "model"},'
    b'"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 9,'
    b'"candidatesTokenCount": 11,"totalTokenCount": 20,"promptTokensDetails": '
    b'[{"modality": "TEXT","tokenCount": 9}]},"modelVersion": "gemini-2.0-flash",'
    b'"responseId": "Xv63aKrQBIaUz7IP4ZPQqAc"}\r\n\r\n'
)

FUNCTION_CALL_STREAM = (
    b'data: {"candidates": [{"content": {"parts": [{"functionCall": {"name": "get_weather",'
    b'"args": {"location": "Tokyo"}}}],"role": "model"},"finishReason": "STOP","index": 0}],'
    b'"usageMetadata": {"promptTokenCount": 40,"candidatesTokenCount": 6,"totalTokenCount": 46},'
    b'"modelVersion": "gemini-2.0-flash"}\n\n'
)


def request(**overrides: Any) -> ChatRequest:
    fields: dict[str, Any] = {
        "model": MODEL,
        "messages": [
            ChatMessage(role="system", content="Answer in one word."),
            ChatMessage(role="user", content="What colour is the sky?"),
        ],
    }
    fields.update(overrides)
    return ChatRequest(**fields)


async def complete(respond: Any, req: ChatRequest | None = None) -> tuple[Any, list[Recorded]]:
    with http_double(respond) as double:
        async with httpx.AsyncClient() as client:
            result = await Gemini().complete(client, Endpoint(double.url, KEY), req or request())
        return result, double.requests


async def stream(respond: Any, req: ChatRequest | None = None) -> tuple[list[StreamDelta], list[Recorded]]:
    with http_double(respond) as double:
        async with httpx.AsyncClient() as client:
            deltas: AsyncIterator[StreamDelta] = Gemini().stream(
                client, Endpoint(double.url, KEY), req or request(stream=True)
            )
            collected = [delta async for delta in deltas]
        return collected, double.requests


async def failure(respond: Any, streaming: bool = False) -> ProviderError:
    call = stream(respond) if streaming else complete(respond)
    with pytest.raises(ProviderError) as caught:
        await call
    error = caught.value
    assert KEY not in str(error)
    assert KEY not in repr(error.args)
    return error


async def test_text_with_cached_and_thinking_tokens() -> None:
    response, _ = await complete(lambda _r: (200, THINKING_RESPONSE))
    assert response.provider == "gemini"
    assert response.id == "mVe3aOKnCYuBz7IPkbDq4QU"
    assert response.content == "Blue."
    assert response.reasoning.startswith("**Weighing the options**")
    assert response.finish_reason == "stop"
    assert response.tool_calls == []
    usage = response.usage
    assert (usage.input_tokens, usage.cached_input_tokens) == (52, 2048)
    assert (usage.output_tokens, usage.reasoning_tokens) == (150, 148)
    assert usage.total_tokens == 2250  # Gemini's totalTokenCount


async def test_request_shape() -> None:
    req = request(
        max_tokens=256,
        temperature=0.2,
        messages=[
            ChatMessage(role="system", content="Be terse."),
            ChatMessage(role="user", content="Weather in Paris?"),
            ChatMessage(
                role="assistant",
                tool_calls=[ToolCall(id="call_0", name="get_weather", arguments='{"location": "Paris"}')],
            ),
            ChatMessage(role="tool", tool_call_id="call_0", content='{"temp_c": 18}'),
            ChatMessage(role="user", content="And tomorrow?"),
        ],
        tools=[
            Tool(
                name="get_weather",
                description="Current weather",
                parameters={"type": "object", "properties": {"location": {"type": "string"}}},
            ),
            Tool(name="ping", description="No arguments"),
        ],
    )
    _, recorded = await complete(lambda _r: (200, THINKING_RESPONSE), req)
    sent = recorded[0]
    assert sent.method == "POST"
    assert sent.path == f"/v1beta/models/{MODEL}:generateContent"
    assert sent.headers["x-goog-api-key"] == KEY
    assert "key=" not in sent.path
    body = sent.body
    assert body["systemInstruction"] == {"parts": [{"text": "Be terse."}]}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
        {
            "role": "model",
            "parts": [{"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}}],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp_c": 18}}},
                {"text": "And tomorrow?"},
            ],
        },
    ]
    assert body["generationConfig"] == {"maxOutputTokens": 256, "temperature": 0.2}
    assert "responseSchema" not in body["generationConfig"]
    declarations = body["tools"][0]["functionDeclarations"]
    assert declarations[0] == {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
    }
    assert declarations[1] == {"name": "ping", "description": "No arguments"}  # no empty OBJECT


async def test_json_schema_goes_into_generation_config() -> None:
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string"}},
        "required": ["colour"],
    }
    _, recorded = await complete(lambda _r: (200, THINKING_RESPONSE), request(json_schema=schema))
    config = recorded[0].body["generationConfig"]
    assert config == {"responseMimeType": "application/json", "responseSchema": schema}


async def test_function_call_response() -> None:
    response, _ = await complete(lambda _r: (200, FUNCTION_CALL_RESPONSE))
    assert response.finish_reason == "tool_calls"
    assert response.content == ""
    assert [(c.id, c.name) for c in response.tool_calls] == [
        ("call_0", "get_weather"),
        ("call_1", "get_time"),
    ]
    assert json.loads(response.tool_calls[0].arguments) == {"location": "Paris", "unit": "celsius"}
    assert response.model == "gemini-2.0-flash"
    assert response.usage.input_tokens == 61
    assert response.usage.output_tokens == 24


async def test_streaming_text_final_usage_in_last_chunk() -> None:
    deltas, recorded = await stream(lambda _r: (200, TEXT_STREAM, SSE))
    assert recorded[0].path == f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
    assert recorded[0].headers["x-goog-api-key"] == KEY
    *pieces, last = deltas
    assert "".join(d.content for d in pieces) == "The sky is blue because of Rayleigh scattering."
    assert all(not d.done for d in pieces)
    assert last.done
    assert last.finish_reason == "stop"
    assert last.response_id == "Xv63aKrQBIaUz7IP4ZPQqAc"
    assert last.usage is not None
    assert (last.usage.input_tokens, last.usage.output_tokens) == (9, 11)


async def test_streaming_last_chunk_without_trailing_blank_line() -> None:
    body = TEXT_STREAM.rstrip(b"\r\n")
    deltas, _ = await stream(lambda _r: (200, body, SSE))
    assert deltas[-1].done
    assert deltas[-1].finish_reason == "stop"
    assert deltas[-1].usage is not None
    assert deltas[-1].usage.output_tokens == 11
    assert "".join(d.content for d in deltas).endswith("scattering.")


async def test_streaming_function_call() -> None:
    deltas, _ = await stream(lambda _r: (200, FUNCTION_CALL_STREAM, SSE))
    calls = [call for d in deltas for call in d.tool_calls]
    assert [(c.id, c.name, json.loads(c.arguments)) for c in calls] == [
        ("call_0", "get_weather", {"location": "Tokyo"})
    ]
    assert deltas[-1].done
    assert deltas[-1].finish_reason == "tool_calls"
    assert deltas[-1].usage is not None
    assert deltas[-1].usage.output_tokens == 6


async def test_stream_closing_without_finish_reason_is_broken() -> None:
    truncated = TEXT_STREAM.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    error = await failure(lambda _r: (200, truncated, SSE), streaming=True)
    assert error.kind == "broken_stream"
    assert error.retryable


async def test_error_chunk_mid_stream_is_retryable() -> None:
    first = TEXT_STREAM.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    error_chunk = (
        b'data: {"error": {"code": 503, "message": "The model is overloaded. Please try again later.",'
        b' "status": "UNAVAILABLE"}}\r\n\r\n'
    )
    error = await failure(lambda _r: (200, first + error_chunk, SSE), streaming=True)
    assert error.retryable
    assert error.status == 503
    assert "overloaded" in error.message


async def test_prompt_blocked_is_content_filter() -> None:
    error = await failure(lambda _r: (200, PROMPT_BLOCKED))
    assert error.kind == "content_filter"
    assert not error.retryable
    assert "SAFETY" in error.message


async def test_rate_limited_with_retry_after() -> None:
    body = {
        "error": {
            "code": 429,
            "message": "You exceeded your current quota, please check your plan and billing details.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}],
        }
    }
    error = await failure(lambda _r: (429, body, {"Retry-After": "12"}))
    assert (error.kind, error.retryable, error.status) == ("rate_limit", True, 429)
    assert error.retry_after_seconds == 12.0
    without_header = await failure(lambda _r: (429, body))
    assert without_header.retry_after_seconds == 37.0  # from google.rpc.RetryInfo


async def test_unavailable_is_retryable() -> None:
    body = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    error = await failure(lambda _r: (503, body))
    assert error.retryable
    assert error.status == 503
    streamed = await failure(lambda _r: (503, body), streaming=True)
    assert streamed.retryable


async def test_invalid_argument_is_permanent_with_message() -> None:
    body = {
        "error": {
            "code": 400,
            "message": "* GenerateContentRequest.contents: contents is not specified\n",
            "status": "INVALID_ARGUMENT",
        }
    }
    error = await failure(lambda _r: (400, body))
    assert error.kind == "bad_request"
    assert not error.retryable
    assert "contents is not specified" in error.message


async def test_permission_denied_never_shows_the_key() -> None:
    body = {
        "error": {
            "code": 403,
            "message": f"Method doesn't allow unregistered callers (key {KEY}). "
            f"See https://generativelanguage.googleapis.com/v1beta/models?key={KEY}",
            "status": "PERMISSION_DENIED",
        }
    }
    error = await failure(lambda _r: (403, body))
    assert error.kind == "unauthorized"
    assert not error.retryable
    assert "unregistered callers" in error.message


async def test_connection_refused_is_retryable_without_key() -> None:
    with http_double(lambda _r: (200, THINKING_RESPONSE)) as double:
        url = double.url  # closed once the block ends: nothing listens there any more
    async with httpx.AsyncClient() as client:
        with pytest.raises(ProviderError) as caught:
            await Gemini().complete(client, Endpoint(url, KEY), request())
    assert caught.value.retryable
    assert caught.value.kind == "connection"
    assert KEY not in str(caught.value)
