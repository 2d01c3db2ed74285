"""The OpenAI-compatible adapter against byte-for-byte replays of documented SSE streams."""

from __future__ import annotations

from typing import Any

import pytest

from flowbus_llm_gateway.model import ToolCall, Usage
from flowbus_llm_gateway.providers.openai_compatible import OpenAICompatible
from tests.integration.llm.openai_compatible_fixtures import (
    SSE,
    collect,
    request,
    stream_error,
)
from tests.support.http_double import Recorded, http_double

TEXT_STREAM = (
    b'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini",'
    b'"system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":"",'
    b'"refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
    b'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini",'
    b'"system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,'
    b'"finish_reason":null}],"usage":null}\n\n'
    b'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini",'
    b'"system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":" there!"},"logprobs":null,'
    b'"finish_reason":null}],"usage":null}\n\n'
    b'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini",'
    b'"system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{},"logprobs":null,'
    b'"finish_reason":"stop"}],"usage":null}\n\n'
    b'data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini",'
    b'"system_fingerprint":"fp_44709d6fcb","choices":[],"usage":{"prompt_tokens":1100,"completion_tokens":3,'
    b'"total_tokens":1103,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},'
    b'"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,'
    b'"rejected_prediction_tokens":0}}}\n\n'
    b"data: [DONE]\n\n"
)


async def test_stream_text_with_include_usage() -> None:
    with http_double(lambda _r: (200, TEXT_STREAM, SSE)) as double:
        deltas = await collect(OpenAICompatible(), double.url, request(max_tokens=50))

    body = double.requests[0].body
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert "".join(d.content for d in deltas) == "Hello there!"
    assert [d.done for d in deltas] == [False, False, True]
    last = deltas[-1]
    assert last.finish_reason == "stop"
    assert last.response_id == "chatcmpl-123"
    assert last.usage == Usage(input_tokens=76, cached_input_tokens=1024, output_tokens=3)


TOOL_STREAM = (
    b'data: {"id":"chatcmpl-t","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    b'"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,'
    b'"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"get_weather","arguments":""}}]},'
    b'"logprobs":null,"finish_reason":null}]}\n\n'
    b'data: {"id":"chatcmpl-t","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    b'"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\""}}]},'
    b'"logprobs":null,"finish_reason":null}]}\n\n'
    b'data: {"id":"chatcmpl-t","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    b'"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"location"}}]},'
    b'"logprobs":null,"finish_reason":null}]}\n\n'
    b'data: {"id":"chatcmpl-t","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    b'"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\\":\\"Paris\\"}"}}]},'
    b'"logprobs":null,"finish_reason":null}]}\n\n'
    b'data: {"id":"chatcmpl-t","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    b'"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_second","type":"function",'
    b'"function":{"name":"get_time","arguments":"{}"}}]},"logprobs":null,"finish_reason":null}]}\n\n'
    b'data: {"id":"chatcmpl-t","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    b'"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}\n\n'
    b'data: {"id":"chatcmpl-t","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
    b'"choices":[],"usage":{"prompt_tokens":80,"completion_tokens":25,"total_tokens":105}}\n\n'
    b"data: [DONE]\n\n"
)


async def test_stream_tool_calls_assembled_from_fragments() -> None:
    with http_double(lambda _r: (200, TOOL_STREAM, SSE)) as double:
        deltas = await collect(OpenAICompatible(), double.url, request())

    assert all(not d.tool_calls for d in deltas[:-1])
    last = deltas[-1]
    assert last.done
    assert last.finish_reason == "tool_calls"
    assert last.tool_calls == [
        ToolCall(id="call_DdmO9pD3xa9XTPNJ32zg2hcA", name="get_weather", arguments='{"location":"Paris"}'),
        ToolCall(id="call_second", name="get_time", arguments="{}"),
    ]
    assert last.usage == Usage(input_tokens=80, output_tokens=25)


DEEPSEEK_STREAM = (
    b": keep-alive\n\n"
    b'data: {"id":"1f633d8bfc032625086f14113c411638","object":"chat.completion.chunk","created":1718345013,'
    b'"model":"deepseek-reasoner","system_fingerprint":"fp_a49d71b8a1","choices":[{"index":0,'
    b'"delta":{"role":"assistant","content":null,"reasoning_content":""},"logprobs":null,"finish_reason":null}]}\n\n'
    b'data: {"id":"1f633d8bfc032625086f14113c411638","object":"chat.completion.chunk","created":1718345013,'
    b'"model":"deepseek-reasoner","system_fingerprint":"fp_a49d71b8a1","choices":[{"index":0,'
    b'"delta":{"content":null,"reasoning_content":"The user greets me."},"logprobs":null,"finish_reason":null}]}\n\n'
    b": keep-alive\n\n"
    b'data: {"id":"1f633d8bfc032625086f14113c411638","object":"chat.completion.chunk","created":1718345013,'
    b'"model":"deepseek-reasoner","system_fingerprint":"fp_a49d71b8a1","choices":[{"index":0,'
    b'"delta":{"content":"Hi!","reasoning_content":null},"logprobs":null,"finish_reason":null}]}\n\n'
    b'data: {"id":"1f633d8bfc032625086f14113c411638","object":"chat.completion.chunk","created":1718345013,'
    b'"model":"deepseek-reasoner","system_fingerprint":"fp_a49d71b8a1","choices":[{"index":0,'
    b'"delta":{"content":"","reasoning_content":null},"logprobs":null,"finish_reason":"stop"}],'
    b'"usage":{"prompt_tokens":70,"completion_tokens":40,"total_tokens":110,"prompt_tokens_details":'
    b'{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":36},'
    b'"prompt_cache_hit_tokens":64,"prompt_cache_miss_tokens":6}}\n\n'
    b"data: [DONE]\n\n"
)


async def test_deepseek_stream_keep_alives_reasoning_and_cache_usage() -> None:
    with http_double(lambda _r: (200, DEEPSEEK_STREAM, SSE)) as double:
        deltas = await collect(
            OpenAICompatible("deepseek", max_tokens_field="max_tokens"), double.url, request()
        )

    assert "".join(d.reasoning for d in deltas) == "The user greets me."
    assert "".join(d.content for d in deltas) == "Hi!"
    last = deltas[-1]
    assert last.done
    assert last.finish_reason == "stop"
    assert last.usage == Usage(input_tokens=6, cached_input_tokens=64, output_tokens=40, reasoning_tokens=36)


async def test_server_rejecting_stream_options_is_asked_again_without() -> None:
    plain = (
        b'data: {"id":"cmpl-9","object":"chat.completion.chunk","created":1,"model":"local",'
        b'"choices":[{"index":0,"delta":{"role":"assistant","content":"ok"},"finish_reason":null}]}\n\n'
        b'data: {"id":"cmpl-9","object":"chat.completion.chunk","created":1,"model":"local",'
        b'"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    rejection = {
        "object": "error",
        "message": "Unrecognized request argument supplied: stream_options",
        "type": "BadRequestError",
        "code": 400,
    }

    def respond(recorded: Recorded) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
        if "stream_options" in recorded.body:
            return 400, rejection
        return 200, plain, SSE

    with http_double(respond) as double:
        deltas = await collect(
            OpenAICompatible("local", max_tokens_field="max_tokens"), double.url, request()
        )

    assert [("stream_options" in r.body) for r in double.requests] == [True, False]
    assert "".join(d.content for d in deltas) == "ok"
    assert deltas[-1].done
    assert deltas[-1].usage == Usage()  # unknown: zeros


@pytest.mark.parametrize(
    ("error", "kind", "retryable"),
    [
        (
            '{"message":"The server is overloaded, please try again later.","type":"server_error"}',
            "server_error",
            True,
        ),
        (
            '{"message":"Rate limit reached for gpt-4o","type":"requests","code":"rate_limit_exceeded"}',
            "rate_limit",
            True,
        ),
        ('{"message":"Invalid content","type":"invalid_request_error"}', "stream_error", False),
    ],
)
async def test_error_mid_stream(error: str, kind: str, retryable: bool) -> None:
    body = (
        b'data: {"id":"chatcmpl-e","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
        b'"choices":[{"index":0,"delta":{"role":"assistant","content":"Partial"},"finish_reason":null}]}\n\n'
        b'data: {"error":' + error.encode() + b"}\n\n"
    )
    with http_double(lambda _r: (200, body, SSE)) as double:
        seen, failure = await stream_error(OpenAICompatible(), double.url)

    assert [d.content for d in seen] == ["Partial"]
    assert (failure.kind, failure.retryable) == (kind, retryable)


async def test_broken_stream_is_retryable() -> None:
    cut = (
        b'data: {"id":"chatcmpl-b","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
        b'"choices":[{"index":0,"delta":{"role":"assistant","content":"Once upon"},"finish_reason":null}]}\n\n'
    )
    with http_double(lambda _r: (200, cut, SSE)) as double:
        seen, failure = await stream_error(OpenAICompatible(), double.url)

    assert [d.content for d in seen] == ["Once upon"]
    assert failure.kind == "broken_stream"
    assert failure.retryable


# --- HTTP errors ---------------------------------------------------------------------------------
