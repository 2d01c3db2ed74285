"""The official OpenAI Python SDK, unchanged, as a client of the gateway: whole and streamed
completions, tool calls, structured output, the model list, and errors it understands."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import openai
import pytest

from tests.integration.llm_http.conftest import Api
from tests.support.http_double import Recorded, http_double
from tests.support.llm_double import SSE_HEADERS, openai_answer, sse_chunks


def sdk(api: Api, role: str = "operator", tenant: str = "acme") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{api.url}/v1", api_key=api.token(tenant, role), max_retries=0)  # type: ignore[arg-type]


async def test_a_whole_completion(api: Api) -> None:
    with http_double(openai_answer(["Hello", " from the double"])) as provider:
        await api.keys.put("acme", "openai", "sk-acme", base_url=f"{provider.url}/v1")
        completion = await sdk(api).chat.completions.create(
            model="openai/cheap-1", messages=[{"role": "user", "content": "Say hello"}]
        )
    assert completion.choices[0].message.content == "Hello from the double"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "openai/cheap-1"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (10, 20)
    forwarded = provider.requests[0]
    assert forwarded.body["model"] == "cheap-1"
    assert forwarded.headers["authorization"] == "Bearer sk-acme"  # the tenant's own key goes upstream
    assert (completion.model_extra or {})["flowbus"]["cost_usd"] == pytest.approx((10 * 1 + 20 * 2) / 1e6)


async def test_a_streamed_completion_with_usage(api: Api) -> None:
    pieces = ["Once", " upon", " a", " time"]
    with http_double(openai_answer(pieces)) as provider:
        await api.keys.put("acme", "openai", "sk-acme", base_url=f"{provider.url}/v1")
        stream = await sdk(api).chat.completions.create(
            model="auto",
            messages=[{"role": "user", "content": "Tell a story"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Once upon a time"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 20
    assert provider.requests[0].body["stream"] is True


async def test_tool_calls_round_trip(api: Api) -> None:
    def respond(recorded: Recorded) -> tuple[int, Any]:
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "refund", "arguments": '{"order": "A-1"}'},
                }
            ],
        }
        return 200, {
            "id": "chatcmpl-t",
            "object": "chat.completion",
            "model": "cheap-1",
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38},
        }

    with http_double(respond) as provider:
        await api.keys.put("acme", "openai", "sk-acme", base_url=f"{provider.url}/v1")
        completion = await sdk(api).chat.completions.create(
            model="openai/cheap-1",
            messages=[{"role": "user", "content": "Refund order A-1"}],
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "refund",
                        "description": "Refund an order",
                        "parameters": {"type": "object", "properties": {"order": {"type": "string"}}},
                    },
                }
            ],
        )
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (  # type: ignore[union-attr]
        "call_1",
        "refund",
        {"order": "A-1"},
    )
    assert completion.choices[0].finish_reason == "tool_calls"
    assert provider.requests[0].body["tools"][0]["function"]["name"] == "refund"


async def test_structured_output_is_passed_on_as_json_schema(api: Api) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    with http_double(openai_answer(['{"city": "Lyon"}'])) as provider:
        await api.keys.put("acme", "openai", "sk-acme", base_url=f"{provider.url}/v1")
        completion = await sdk(api).chat.completions.create(
            model="openai/cheap-1",
            messages=[{"role": "user", "content": "Where?"}],
            response_format={"type": "json_schema", "json_schema": {"name": "place", "schema": schema}},
        )
    assert json.loads(completion.choices[0].message.content or "") == {"city": "Lyon"}
    sent = provider.requests[0].body["response_format"]["json_schema"]
    assert (sent["schema"], sent["strict"]) == (schema, True)


async def test_the_model_list(api: Api) -> None:
    await api.keys.put("acme", "deepseek", "sk-ds", base_url="http://127.0.0.1:9/v1")
    models = {m.id: m for m in (await sdk(api, "viewer").models.list()).data}
    assert set(models) == {"openai/cheap-1", "deepseek/backup-1"}
    assert models["deepseek/backup-1"].owned_by == "deepseek"
    extra = {k: (m.model_extra or {})["flowbus"]["available"] for k, m in models.items()}
    assert extra == {"openai/cheap-1": False, "deepseek/backup-1": True}


async def test_errors_the_sdk_understands(api: Api) -> None:
    messages: Any = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.AuthenticationError):
        await openai.AsyncOpenAI(
            base_url=f"{api.url}/v1", api_key="fbk_nope_nope", max_retries=0
        ).models.list()
    with pytest.raises(openai.PermissionDeniedError, match="operator"):
        await sdk(api, "viewer").chat.completions.create(model="auto", messages=messages)
    with pytest.raises(openai.BadRequestError, match="no LLM provider key"):
        await sdk(api).chat.completions.create(model="auto", messages=messages)
    with http_double(lambda _r: (503, {"error": {"message": "overloaded"}})) as down:
        await api.keys.put("acme", "openai", "sk-acme", base_url=f"{down.url}/v1")
        with pytest.raises(openai.InternalServerError) as caught:
            await sdk(api).chat.completions.create(model="openai/cheap-1", messages=messages)
    assert caught.value.status_code == 503
    assert "overloaded" in caught.value.message
    with pytest.raises(openai.UnprocessableEntityError, match="messages"):
        await sdk(api).chat.completions.create(model="auto", messages=[])


async def test_a_stream_that_breaks_after_output_ends_with_an_error_event(api: Api) -> None:
    broken = sse_chunks(["half of it"], complete=False)
    await api.ledger.set_budget("acme", 1)
    with http_double(lambda _r: (200, broken, SSE_HEADERS)) as provider:
        await api.keys.put("acme", "openai", "sk-acme", base_url=f"{provider.url}/v1")
        stream = await sdk(api).chat.completions.create(
            model="openai/cheap-1", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        seen: list[str] = []
        with pytest.raises(openai.APIError, match="broken_stream"):
            await drain(stream, seen)
    assert "".join(seen) == "half of it"
    budget = await api.ledger.budget("acme")
    assert budget is not None  # the failed call's reservation was released:
    assert (budget.reserved_usd, budget.spent_usd) == (
        Decimal(0),
        Decimal(0),
    )  # the failed call's reservation was released


async def drain(stream: Any, seen: list[str]) -> None:
    async for chunk in stream:
        seen.extend(c.delta.content or "" for c in chunk.choices)
