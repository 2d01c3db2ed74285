"""The Anthropic Messages adapter against replays of its documented responses and errors."""

from __future__ import annotations

import json
import socket

import pytest

from flowbus_llm_gateway.model import ChatMessage, ToolCall
from flowbus_llm_gateway.providers.base import Endpoint, ProviderError
from tests.integration.llm.anthropic_fixtures import (
    HELLO,
    KEY,
    MODEL,
    TEXT_RESPONSE,
    TOOL_USE_RESPONSE,
    WEATHER,
    ask,
    collect,
    complete,
    error_body,
)
from tests.support.http_double import http_double


async def test_text_answer_with_cache_usage() -> None:
    with http_double(lambda _r: (200, TEXT_RESPONSE)) as double:
        response = await complete(double.url, ask(HELLO))
    assert response.id == "msg_013Zva2CMHLNnXjNJJKqJ2EF"
    assert response.provider == "anthropic"
    assert response.model == MODEL
    assert response.content == "Hi! My name is Claude."
    assert response.finish_reason == "stop"
    assert response.tool_calls == []
    usage = response.usage
    assert (usage.input_tokens, usage.cached_input_tokens, usage.cache_write_tokens, usage.output_tokens) == (
        2095,
        2051,
        2051,
        503,
    )
    assert usage.total_tokens == 2095 + 2051 + 2051 + 503


async def test_request_shape_system_headers_and_defaults() -> None:
    with http_double(lambda _r: (200, TEXT_RESPONSE)) as double:
        await complete(
            double.url,
            ask(
                ChatMessage(role="system", content="You are terse."),
                ChatMessage(role="system", content="Answer in English."),
                HELLO,
                temperature=0.3,
            ),
        )
    [recorded] = double.requests
    assert recorded.method == "POST"
    assert recorded.path == "/v1/messages"
    headers = {name.lower(): value for name, value in recorded.headers.items()}
    assert headers["x-api-key"] == KEY
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["content-type"] == "application/json"
    assert "authorization" not in headers
    body = recorded.body
    assert body["model"] == MODEL
    assert body["max_tokens"] == 1024
    assert body["system"] == "You are terse.\n\nAnswer in English."
    assert body["messages"] == [{"role": "user", "content": "Hello, Claude"}]
    assert body["temperature"] == 0.3
    assert "stream" not in body
    assert "tools" not in body


async def test_tool_history_becomes_tool_use_and_tool_result_blocks() -> None:
    history = ask(
        ChatMessage(role="user", content="Weather in SF and NYC?"),
        ChatMessage(
            role="assistant",
            content="Checking.",
            tool_calls=[
                ToolCall(id="toolu_1", name="get_weather", arguments='{"location": "San Francisco, CA"}'),
                ToolCall(id="toolu_2", name="get_weather", arguments='{"location": "New York, NY"}'),
            ],
        ),
        ChatMessage(role="tool", tool_call_id="toolu_1", content="15 degrees"),
        ChatMessage(role="tool", tool_call_id="toolu_2", content="20 degrees"),
        tools=[WEATHER],
        max_tokens=300,
    )
    with http_double(lambda _r: (200, TEXT_RESPONSE)) as double:
        await complete(double.url, history)
    body = double.requests[0].body
    assert body["max_tokens"] == 300
    assert body["tools"] == [
        {"name": "get_weather", "description": WEATHER.description, "input_schema": WEATHER.parameters}
    ]
    assert body["messages"] == [
        {"role": "user", "content": "Weather in SF and NYC?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"location": "San Francisco, CA"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "get_weather",
                    "input": {"location": "New York, NY"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "15 degrees"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "20 degrees"},
            ],
        },
    ]


async def test_tool_use_answer() -> None:
    with http_double(lambda _r: (200, TOOL_USE_RESPONSE)) as double:
        response = await complete(double.url, ask(HELLO, tools=[WEATHER]))
    assert response.finish_reason == "tool_calls"
    assert response.content == "I'll check the current weather in San Francisco for you."
    [call] = response.tool_calls
    assert (call.id, call.name) == ("toolu_01A09q90qw90lq917835lq9", "get_weather")
    assert json.loads(call.arguments) == {"location": "San Francisco, CA", "unit": "celsius"}


async def test_thinking_block_is_reasoning() -> None:
    answer = {
        **TEXT_RESPONSE,
        "content": [
            {
                "type": "thinking",
                "thinking": "Let me analyze this step by step...",
                "signature": "WaUjzkypQ2mUEVM36O2T",
            },
            {"type": "text", "text": "Based on my analysis..."},
        ],
        "stop_reason": "max_tokens",
    }
    with http_double(lambda _r: (200, answer)) as double:
        response = await complete(double.url, ask(HELLO))
    assert response.reasoning == "Let me analyze this step by step..."
    assert response.content == "Based on my analysis..."
    assert response.finish_reason == "length"


async def test_structured_output_through_a_forced_tool() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    answer = {
        **TOOL_USE_RESPONSE,
        "content": [{"type": "tool_use", "id": "toolu_01R", "name": "respond", "input": {"city": "Paris"}}],
    }
    with http_double(lambda _r: (200, answer)) as double:
        response = await complete(double.url, ask(HELLO, json_schema=schema))
    body = double.requests[0].body
    assert body["tools"] == [{"name": "respond", "description": "Give the answer.", "input_schema": schema}]
    assert body["tool_choice"] == {"type": "tool", "name": "respond"}
    assert json.loads(response.content) == {"city": "Paris"}
    assert response.tool_calls == []
    assert response.finish_reason == "stop"


# ---- errors --------------------------------------------------------------------------------


async def test_429_is_retryable_with_retry_after() -> None:
    body = error_body("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit")
    with (
        http_double(lambda _r: (429, body, {"retry-after": "17"})) as double,
        pytest.raises(ProviderError) as caught,
    ):
        await complete(double.url, ask(HELLO))
    error = caught.value
    assert (error.kind, error.retryable, error.status, error.retry_after_seconds) == (
        "rate_limit",
        True,
        429,
        17.0,
    )
    assert "per-minute rate limit" in error.message


async def test_429_while_streaming() -> None:
    body = error_body("rate_limit_error", "slow down")
    with (
        http_double(lambda _r: (429, body, {"retry-after": "3"})) as double,
        pytest.raises(ProviderError) as caught,
    ):
        await collect(double.url, ask(HELLO))
    assert (caught.value.kind, caught.value.retryable, caught.value.retry_after_seconds) == (
        "rate_limit",
        True,
        3.0,
    )


async def test_529_overloaded_is_retryable() -> None:
    with (
        http_double(lambda _r: (529, error_body("overloaded_error", "Overloaded"))) as double,
        pytest.raises(ProviderError) as caught,
    ):
        await complete(double.url, ask(HELLO))
    assert (caught.value.kind, caught.value.retryable, caught.value.status) == ("overloaded", True, 529)


async def test_500_is_retryable() -> None:
    with (
        http_double(lambda _r: (500, error_body("api_error", "Internal server error"))) as double,
        pytest.raises(ProviderError) as caught,
    ):
        await complete(double.url, ask(HELLO))
    assert (caught.value.kind, caught.value.retryable) == ("server_error", True)


async def test_400_invalid_request_is_permanent_with_its_message() -> None:
    body = error_body("invalid_request_error", "max_tokens: 100000 > 64000, which is the maximum allowed")
    with http_double(lambda _r: (400, body)) as double, pytest.raises(ProviderError) as caught:
        await complete(double.url, ask(HELLO))
    error = caught.value
    assert (error.kind, error.retryable, error.status) == ("bad_request", False, 400)
    assert "max_tokens: 100000 > 64000" in error.message


async def test_401_never_shows_the_key() -> None:
    # Even a server echoing the key back does not get it into the error.
    body = error_body("authentication_error", f"invalid x-api-key {KEY}")
    with http_double(lambda _r: (401, body)) as double, pytest.raises(ProviderError) as caught:
        await complete(double.url, ask(HELLO))
    error = caught.value
    assert (error.kind, error.retryable, error.status) == ("unauthorized", False, 401)
    assert "invalid x-api-key" in error.message
    assert KEY not in str(error)
    assert KEY not in repr(Endpoint(double.url, KEY))


async def test_connection_refused_is_retryable() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago, with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ProviderError) as caught:
        await complete(f"http://127.0.0.1:{port}", ask(HELLO))
    assert (caught.value.kind, caught.value.retryable) == ("connection", True)
    assert KEY not in str(caught.value)


# ---- stream --------------------------------------------------------------------------------
