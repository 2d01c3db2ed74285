"""The gateway's reading of OpenAI Chat Completions requests, and strict-mode detection."""

from __future__ import annotations

from typing import Any

import pytest

from flowbus_llm_gateway.api.openai_format import CompletionIn, model_choice, to_chat_request
from flowbus_llm_gateway.providers.openai_compatible import strict_ready
from flowbus_shared.http import ApiError


def read(**body: Any) -> Any:
    return to_chat_request(
        CompletionIn.model_validate({"messages": [{"role": "user", "content": "hi"}], **body})
    )


def test_text_parts_developer_role_and_max_completion_tokens() -> None:
    request = read(
        messages=[
            {"role": "developer", "content": "Be brief."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "Hello, "}, {"type": "text", "text": "world"}],
            },
        ],
        max_tokens=10,
        max_completion_tokens=20,
        seed=7,  # accepted and ignored
    )
    assert [(m.role, m.content) for m in request.messages] == [
        ("system", "Be brief."),
        ("user", "Hello, world"),
    ]
    assert request.max_tokens == 20


def test_assistant_tool_calls_and_tool_results_are_kept() -> None:
    request = read(
        messages=[
            {"role": "user", "content": "refund A-1"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "refund", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "done"},
        ]
    )
    assert request.messages[1].tool_calls[0].name == "refund"
    assert (request.messages[2].role, request.messages[2].tool_call_id) == ("tool", "c1")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"n": 2}, "n must be 1"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}, "image_url"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "schema"),
        ({"response_format": {"type": "grammar"}}, "grammar"),
    ],
)
def test_what_cannot_be_honoured_is_refused_with_a_reason(body: dict[str, Any], reason: str) -> None:
    with pytest.raises(ApiError, match=reason) as caught:
        read(**body)
    assert caught.value.status == 400


def test_json_mode_and_model_choice() -> None:
    assert read(response_format={"type": "json_object"}).json_schema == {"type": "object"}
    assert read(response_format={"type": "text"}).json_schema is None
    assert model_choice("auto") == (None, None)
    assert model_choice("") == (None, None)
    assert model_choice("anthropic/claude-haiku-4-5") == ("anthropic", "claude-haiku-4-5")
    assert model_choice("gpt-4o-mini") == (None, "gpt-4o-mini")


def test_strict_mode_only_for_closed_schemas() -> None:
    closed = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    assert strict_ready(closed)
    assert not strict_ready({**closed, "additionalProperties": True})
    assert not strict_ready({**closed, "required": []})
    nested_open = {**closed, "properties": {"a": {"type": "object", "properties": {}}}}
    assert not strict_ready(nested_open)
