"""The OpenAI-compatible adapter (OpenAI, DeepSeek, Ollama, vLLM) against replays of documented responses and errors."""

from __future__ import annotations

import socket

import httpx

from flowbus_llm_gateway.model import ChatMessage, ChatRequest, Tool, ToolCall, Usage
from flowbus_llm_gateway.providers.base import Endpoint
from flowbus_llm_gateway.providers.openai_compatible import OpenAICompatible
from tests.integration.llm.openai_compatible_fixtures import (
    KEY,
    complete_error,
    header,
    request,
    stream_error,
)
from tests.support.http_double import http_double

TEXT_WITH_CACHE = {
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "object": "chat.completion",
    "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello! How can I assist you today?",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 64,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
    "system_fingerprint": "fp_fc9f1d7035",
}


async def test_complete_text_with_cached_usage() -> None:
    with http_double(lambda _r: (200, TEXT_WITH_CACHE)) as double:
        req = ChatRequest(
            model="gpt-4o",
            messages=[
                ChatMessage(role="system", content="Be brief."),
                ChatMessage(role="user", content="Weather in Paris?"),
                ChatMessage(
                    role="assistant",
                    tool_calls=[ToolCall(id="call_1", name="get_weather", arguments='{"city":"Paris"}')],
                ),
                ChatMessage(role="tool", tool_call_id="call_1", content='{"temp": 21}'),
            ],
            max_tokens=500,
            temperature=0.2,
        )
        async with httpx.AsyncClient() as client:
            answer = await OpenAICompatible().complete(client, Endpoint(double.url + "/v1/", KEY), req)

    sent = double.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert header(sent, "authorization") == f"Bearer {KEY}"
    assert sent.body == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
        ],
        "max_completion_tokens": 500,
        "temperature": 0.2,
    }
    assert answer.id == "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"
    assert answer.provider == "openai"
    assert answer.model == "gpt-4o-2024-08-06"
    assert answer.content == "Hello! How can I assist you today?"
    assert answer.finish_reason == "stop"
    assert answer.usage == Usage(
        input_tokens=86, cached_input_tokens=1920, output_tokens=300, reasoning_tokens=64
    )


TOOL_CALL = {
    "id": "chatcmpl-abc123",
    "object": "chat.completion",
    "created": 1699896916,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc123",
                        "type": "function",
                        "function": {
                            "name": "get_current_weather",
                            "arguments": '{\n"location": "Boston, MA"\n}',
                        },
                    }
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99},
}


async def test_complete_tool_call() -> None:
    weather = Tool(
        name="get_current_weather",
        description="Get the current weather in a given location",
        parameters={
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    )
    with http_double(lambda _r: (200, TOOL_CALL)) as double:
        async with httpx.AsyncClient() as client:
            answer = await OpenAICompatible().complete(
                client, Endpoint(double.url, KEY), request(tools=[weather])
            )

    assert double.requests[0].body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_current_weather",
                "description": "Get the current weather in a given location",
                "parameters": weather.parameters,
            },
        }
    ]
    assert answer.content == ""
    assert answer.finish_reason == "tool_calls"
    assert answer.tool_calls == [
        ToolCall(id="call_abc123", name="get_current_weather", arguments='{\n"location": "Boston, MA"\n}')
    ]
    assert answer.usage == Usage(input_tokens=82, output_tokens=17)


async def test_structured_output_and_compatible_server_options() -> None:
    schema = {
        "title": "Weather report",
        "type": "object",
        "properties": {"city": {"type": "string"}, "temp": {"type": "number"}},
        "required": ["city", "temp"],
        "additionalProperties": False,
    }
    reply = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "llama3.2",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": '{"city":"Paris","temp":21}'},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21},
    }
    ollama = OpenAICompatible("ollama", max_tokens_field="max_tokens")
    with http_double(lambda _r: (200, reply)) as double:
        async with httpx.AsyncClient() as client:
            answer = await ollama.complete(
                client, Endpoint(double.url + "/v1", ""), request(json_schema=schema, max_tokens=64)
            )

    sent = double.requests[0]
    assert header(sent, "authorization") is None  # an empty key sends no Authorization
    assert sent.body["max_tokens"] == 64
    assert "max_completion_tokens" not in sent.body
    assert sent.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Weather_report", "schema": schema, "strict": True},
    }
    assert answer.provider == "ollama"
    assert answer.content == '{"city":"Paris","temp":21}'


async def test_deepseek_complete_reasoning_and_cache_hit_miss() -> None:
    reply = {
        "id": "930c60df-bf64-41c9-a88e-3ec75f81e00e",
        "object": "chat.completion",
        "created": 1705651092,
        "model": "deepseek-reasoner",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "9.11 is smaller.",
                    "reasoning_content": "Compare 9.11 and 9.8: 0.11 < 0.8.",
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 1200,
            "completion_tokens": 150,
            "total_tokens": 1350,
            "prompt_tokens_details": {"cached_tokens": 1024},
            "completion_tokens_details": {"reasoning_tokens": 120},
            "prompt_cache_hit_tokens": 1024,
            "prompt_cache_miss_tokens": 176,
        },
        "system_fingerprint": "fp_5417b77867_prod0225",
    }
    with http_double(lambda _r: (200, reply)) as double:
        async with httpx.AsyncClient() as client:
            answer = await OpenAICompatible("deepseek", max_tokens_field="max_tokens").complete(
                client, Endpoint(double.url, KEY), request()
            )
    assert answer.reasoning == "Compare 9.11 and 9.8: 0.11 < 0.8."
    assert answer.content == "9.11 is smaller."
    assert answer.usage == Usage(
        input_tokens=176, cached_input_tokens=1024, output_tokens=150, reasoning_tokens=120
    )


# --- stream ------------------------------------------------------------------------------------


async def test_rate_limit_with_retry_after() -> None:
    body = {
        "error": {
            "message": "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    with http_double(lambda _r: (429, body, {"retry-after": "20"})) as double:
        failure = await complete_error(OpenAICompatible(), double.url)
        _, streamed = await stream_error(OpenAICompatible(), double.url)

    for err in (failure, streamed):
        assert (err.kind, err.retryable, err.status, err.retry_after_seconds) == (
            "rate_limit",
            True,
            429,
            20.0,
        )
        assert "Rate limit reached" in err.message


async def test_server_error_is_retryable() -> None:
    body = {
        "error": {"message": "The server had an error while processing your request.", "type": "server_error"}
    }
    with http_double(lambda _r: (500, body)) as double:
        failure = await complete_error(OpenAICompatible(), double.url)
        _, streamed = await stream_error(OpenAICompatible(), double.url)

    for err in (failure, streamed):
        assert (err.kind, err.retryable, err.status) == ("server_error", True, 500)


async def test_unauthorized_never_shows_the_key() -> None:
    body = {
        "error": {
            "message": f"Incorrect API key provided: {KEY}. You can find your API key at https://platform.openai.com.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    with http_double(lambda _r: (401, body)) as double:
        failure = await complete_error(OpenAICompatible(), double.url)

    assert (failure.kind, failure.retryable, failure.status) == ("unauthorized", False, 401)
    assert KEY not in str(failure)
    assert KEY not in failure.message


async def test_bad_request_carries_the_provider_message() -> None:
    body = {
        "error": {
            "message": "The model `gpt-5-nope` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    }
    with http_double(lambda _r: (404, body)) as double:
        failure = await complete_error(OpenAICompatible(), double.url)

    assert (failure.kind, failure.retryable, failure.status) == ("bad_request", False, 404)
    assert "does not exist" in failure.message


async def test_connection_refused_is_retryable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    failure = await complete_error(OpenAICompatible(), f"http://127.0.0.1:{port}")
    assert (failure.kind, failure.retryable) == ("connection", True)
    assert KEY not in str(failure)
