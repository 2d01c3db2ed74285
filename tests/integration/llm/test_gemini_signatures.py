"""Gemini thought signatures: read with a function call, sent back with it on the next turn
(Gemini refuses a function-calling turn of a thinking model without them), and carried through
the gateway's OpenAI-compatible API the way Google's own compatibility layer does."""

from __future__ import annotations

import json
from typing import Any

import httpx

from flowbus_llm_gateway.api.openai_format import CompletionIn, calls_out, to_chat_request
from flowbus_llm_gateway.model import ChatMessage, ChatRequest, ToolCall
from flowbus_llm_gateway.providers.base import Endpoint
from flowbus_llm_gateway.providers.gemini import Gemini
from tests.support.http_double import Recorded, http_double

SIGNATURE = "CiQBcsjafJTMJGDRiOkR2Hk0FGeJtzc6lSnn3ZNp7uGa/p7O8w8K"
CALL_WITH_SIGNATURE = {
    "candidates": [
        {
            "content": {
                "parts": [
                    {
                        "functionCall": {"name": "get_weather", "args": {"location": "Paris"}},
                        "thoughtSignature": SIGNATURE,
                    }
                ],
                "role": "model",
            },
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {
        "promptTokenCount": 40,
        "candidatesTokenCount": 12,
        "thoughtsTokenCount": 30,
        "totalTokenCount": 82,
    },
    "modelVersion": "gemini-2.5-flash",
}


async def call(respond: Any, request: ChatRequest) -> tuple[Any, list[Recorded]]:
    with http_double(respond) as double:
        async with httpx.AsyncClient() as client:
            response = await Gemini().complete(client, Endpoint(double.url, "AIza-test"), request)
        return response, double.requests


async def test_the_signature_is_read_and_sent_back() -> None:
    ask = ChatRequest(
        model="gemini-2.5-flash", messages=[ChatMessage(role="user", content="Weather in Paris?")]
    )
    response, _ = await call(lambda _r: (200, CALL_WITH_SIGNATURE), ask)
    assert response.tool_calls[0].signature == SIGNATURE

    follow_up = ask.model_copy(
        update={
            "messages": [
                *ask.messages,
                ChatMessage(role="assistant", tool_calls=response.tool_calls),
                ChatMessage(role="tool", tool_call_id=response.tool_calls[0].id, content='{"temp_c": 18}'),
            ]
        }
    )
    text = {
        "candidates": [{"content": {"parts": [{"text": "18 °C"}], "role": "model"}, "finishReason": "STOP"}]
    }
    _, requests = await call(lambda _r: (200, text), follow_up)
    model_turn = requests[0].body["contents"][1]
    assert model_turn["role"] == "model"
    assert model_turn["parts"][0]["thoughtSignature"] == SIGNATURE
    assert model_turn["parts"][0]["functionCall"]["name"] == "get_weather"


def test_the_openai_api_carries_the_signature_both_ways() -> None:
    body = CompletionIn.model_validate(
        {
            "messages": [
                {"role": "user", "content": "Weather?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": "{}"},
                            "extra_content": {"google": {"thought_signature": SIGNATURE}},
                        }
                    ],
                },
            ]
        }
    )
    assert to_chat_request(body).messages[1].tool_calls[0].signature == SIGNATURE
    out = calls_out(
        [ToolCall(id="c1", name="get_weather", arguments="{}", signature=SIGNATURE)], indexed=False
    )
    assert out[0]["extra_content"] == {"google": {"thought_signature": SIGNATURE}}
    assert json.loads(out[0]["function"]["arguments"]) == {}
