"""The Anthropic Messages adapter against byte-for-byte replays of its documented SSE streams."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from flowbus_llm_gateway.model import ChatMessage, StreamDelta
from flowbus_llm_gateway.providers.anthropic import Anthropic
from flowbus_llm_gateway.providers.base import Endpoint, ProviderError
from tests.integration.llm.anthropic_fixtures import (
    BROKEN_STREAM,
    HELLO,
    KEY,
    OVERLOADED_STREAM,
    SSE,
    TEXT_STREAM,
    THINKING_STREAM,
    TOOL_STREAM,
    WEATHER,
    ask,
    collect,
)
from tests.support.http_double import Recorded, http_double


async def test_streamed_text_takes_the_last_cumulative_usage() -> None:
    with http_double(lambda _r: (200, TEXT_STREAM, SSE)) as double:
        deltas = await collect(double.url, ask(HELLO))
    assert double.requests[0].body["stream"] is True
    assert [d.content for d in deltas if d.content] == ["Hello", "!"]
    assert all(not d.done for d in deltas[:-1])
    last = deltas[-1]
    assert last.done
    assert last.finish_reason == "stop"
    assert last.response_id == "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY"
    assert last.usage is not None
    usage = last.usage
    assert (usage.input_tokens, usage.cached_input_tokens, usage.cache_write_tokens, usage.output_tokens) == (
        25,
        100,
        7,
        15,  # the last message_delta's cumulative count, not 10 + 15
    )


async def test_streamed_tool_use_assembles_json_fragments() -> None:
    with http_double(lambda _r: (200, TOOL_STREAM, SSE)) as double:
        deltas = await collect(double.url, ask(HELLO, tools=[WEATHER]))
    assert "".join(d.content for d in deltas) == "Okay, let's check the weather for San Francisco, CA:"
    calls = [call for d in deltas for call in d.tool_calls]
    [call] = calls
    assert (call.id, call.name) == ("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather")
    assert json.loads(call.arguments) == {"location": "San Francisco, CA", "unit": "fahrenheit"}
    last = deltas[-1]
    assert last.done
    assert last.finish_reason == "tool_calls"
    assert last.usage is not None
    assert (last.usage.input_tokens, last.usage.output_tokens) == (472, 89)


async def test_streamed_thinking_is_reasoning() -> None:
    with http_double(lambda _r: (200, THINKING_STREAM, SSE)) as double:
        deltas = await collect(double.url, ask(HELLO))
    reasoning = "".join(d.reasoning for d in deltas)
    assert reasoning.startswith("I need to find the GCD of 1071 and 462")
    assert reasoning.endswith("147 = 7 \u00d7 21 + 0")
    assert "".join(d.content for d in deltas) == "The greatest common divisor of 1071 and 462 is **21**."
    assert deltas[-1].done
    assert deltas[-1].usage is not None
    assert (deltas[-1].usage.input_tokens, deltas[-1].usage.output_tokens) == (40, 120)


async def test_streamed_structured_output() -> None:
    stream = (
        TOOL_STREAM.replace(b'"name":"get_weather"', b'"name":"respond"')
        .replace(b'"type":"text_delta","text":"Okay"', b'"type":"text_delta","text":""')
        .replace(b'"text":", let\'s check the weather for San Francisco, CA:"', b'"text":""')
    )
    with http_double(lambda _r: (200, stream, SSE)) as double:
        deltas = await collect(double.url, ask(HELLO, json_schema={"type": "object"}))
    assert double.requests[0].body["tool_choice"] == {"type": "tool", "name": "respond"}
    assert json.loads("".join(d.content for d in deltas)) == {
        "location": "San Francisco, CA",
        "unit": "fahrenheit",
    }
    assert [call for d in deltas for call in d.tool_calls] == []
    assert deltas[-1].finish_reason == "stop"


async def test_error_event_mid_stream_is_retryable() -> None:
    received: list[StreamDelta] = []

    async def consume(url: str) -> None:
        async with httpx.AsyncClient() as client:
            async for delta in Anthropic().stream(client, Endpoint(url, KEY), ask(HELLO)):
                received.append(delta)

    with (
        http_double(lambda _r: (200, OVERLOADED_STREAM, SSE)) as double,
        pytest.raises(ProviderError) as caught,
    ):
        await consume(double.url)
    assert [d.content for d in received] == ["Hel"]
    assert (caught.value.kind, caught.value.retryable) == ("overloaded", True)
    assert "Overloaded" in caught.value.message


async def test_stream_without_message_stop_is_broken() -> None:
    with http_double(lambda _r: (200, BROKEN_STREAM, SSE)) as double, pytest.raises(ProviderError) as caught:
        await collect(double.url, ask(HELLO))
    assert (caught.value.kind, caught.value.retryable) == ("broken_stream", True)


async def test_stream_request_has_system_and_headers() -> None:
    seen: list[Recorded] = []

    def respond(recorded: Recorded) -> tuple[int, Any, dict[str, str]]:
        seen.append(recorded)
        return 200, TEXT_STREAM, SSE

    with http_double(respond) as double:
        await collect(double.url, ask(ChatMessage(role="system", content="Be brief."), HELLO))
    assert seen[0].body["system"] == "Be brief."
    headers = {name.lower(): value for name, value in seen[0].headers.items()}
    assert (headers["x-api-key"], headers["anthropic-version"]) == (KEY, "2023-06-01")
