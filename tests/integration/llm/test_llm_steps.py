"""llm_completion and workflow_generation through the gateway over loopback OpenAI doubles:
streamed text passed on piece by piece, fallback only before anything was passed on,
structured output validated against the step's schema, and a plan the orchestrator's
planner accepts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowbus_llm_gateway import steps
from flowbus_llm_gateway.catalogue import ModelInfo, Prices
from flowbus_llm_gateway.gateway import Gateway
from flowbus_llm_gateway.keys import ProviderKeys
from flowbus_orchestrator.domain.planner import definition_from_plan
from flowbus_orchestrator.domain.validation import parse_definition
from flowbus_shared.schemas import LlmTokenEvent, StepResult
from flowbus_shared.step_worker import run_step
from flowbus_shared.store import SqlEventStore, open_store
from flowbus_shared.vault import ConnectionVault
from tests.support.executor_deps import TEST_MASTER_KEYS, step_request
from tests.support.http_double import Recorded, chat_completion, http_double
from tests.support.llm_double import SSE_HEADERS, openai_answer, sse_chunks


def model(provider: str, name: str, price: float) -> ModelInfo:
    return ModelInfo(
        provider=provider,
        model=name,
        context_window=128_000,
        quality=95,
        prices=Prices(input=price, output=price * 4),
        priced_on=date(2026, 11, 1),
    )


CHEAP = model("openai", "cheap-1", 0.1)
BACKUP = model("deepseek", "backup-1", 0.3)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlEventStore]:
    opened = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'steps.db'}")
    yield opened
    await opened.close()


async def run(
    store: SqlEventStore,
    urls: dict[str, str],
    step_type: str,
    config: dict[str, Any],
    tokens: list[LlmTokenEvent] | None = None,
) -> StepResult:
    keys = ProviderKeys(ConnectionVault(store.engine, TEST_MASTER_KEYS))
    for provider, url in urls.items():
        await keys.put("acme", provider, f"sk-{provider}", base_url=f"{url}/v1")

    async def publish(event: LlmTokenEvent) -> None:
        assert tokens is not None
        tokens.append(event)

    async with httpx.AsyncClient() as client:
        handlers = steps.handlers(
            Gateway(client, keys, [CHEAP, BACKUP]),
            local_rules=False,
            publish_token=publish if tokens is not None else None,
        )
        return await run_step(handlers, step_request(step_type, config), executed_by="llm-gateway")


async def test_a_completion_is_streamed_as_token_events_and_returned_whole(store: SqlEventStore) -> None:
    tokens: list[LlmTokenEvent] = []
    with http_double(openai_answer(["Dear ", "customer, ", "your refund is on its way."])) as double:
        result = await run(
            store, {"openai": double.url}, "llm_completion", {"prompt": "Write a reply"}, tokens
        )
    assert result.status == "succeeded", result.error
    assert result.output["text"] == "Dear customer, your refund is on its way."
    assert (result.output["provider"], result.output["model"]) == ("openai", "cheap-1")
    assert result.output["usage"]["output_tokens"] == 20
    assert result.output["cost_usd"] > 0
    assert double.requests[0].body["stream"] is True
    assert "".join(t.delta for t in tokens) == result.output["text"]
    assert [t.index for t in tokens] == list(range(len(tokens)))
    assert len({t.message_id for t in tokens}) == len(tokens)
    final = tokens[-1]
    assert final.finished
    assert not any(t.finished for t in tokens[:-1])
    assert final.usage is not None
    assert final.usage.output_tokens == 20
    assert (final.provider, final.model, final.finish_reason) == ("openai", "cheap-1", "stop")
    assert {t.request_id for t in tokens} == {"exec-1:step:1"}
    assert all(t.partition_key() == "exec-1:step:1" for t in tokens)


async def test_streaming_falls_back_before_the_first_token_only(store: SqlEventStore) -> None:
    tokens: list[LlmTokenEvent] = []
    with (
        http_double(lambda _r: (503, {"error": {"message": "overloaded"}})) as down,
        http_double(openai_answer(["from ", "the backup"])) as backup,
    ):
        result = await run(
            store, {"openai": down.url, "deepseek": backup.url}, "llm_completion", {"prompt": "Hi"}, tokens
        )
    assert result.status == "succeeded", result.error
    assert result.output["provider"] == "deepseek"
    assert "".join(t.delta for t in tokens) == "from the backup"


async def test_a_stream_broken_after_output_is_not_continued_by_another_model(store: SqlEventStore) -> None:
    tokens: list[LlmTokenEvent] = []
    broken = sse_chunks(["half an ", "answer"], complete=False)
    with (
        http_double(lambda _r: (200, broken, SSE_HEADERS)) as breaking,
        http_double(openai_answer(["never used"])) as backup,
    ):
        result = await run(
            store,
            {"openai": breaking.url, "deepseek": backup.url},
            "llm_completion",
            {"prompt": "Hi"},
            tokens,
        )
    assert result.error is not None
    assert (result.error.error_type, result.error.retryable) == ("broken_stream", True)
    assert backup.requests == []
    assert not any(t.finished for t in tokens)  # viewers see no final event for a failed attempt


async def test_structured_output_is_validated_against_the_steps_schema(store: SqlEventStore) -> None:
    schema = {
        "type": "object",
        "properties": {"sentiment": {"enum": ["positive", "negative"]}, "score": {"type": "number"}},
        "required": ["sentiment", "score"],
    }
    good = json.dumps({"sentiment": "negative", "score": -0.8})
    bad = json.dumps({"sentiment": "furious", "score": -0.8})
    with http_double(lambda _r: (200, chat_completion(good))) as double:
        ok = await run(
            store, {"openai": double.url}, "llm_completion", {"prompt": "p", "output_schema": schema}
        )
    assert ok.status == "succeeded", ok.error
    assert ok.output["output"] == {"sentiment": "negative", "score": -0.8}
    asked = double.requests[0].body["response_format"]
    assert asked["type"] == "json_schema"
    assert asked["json_schema"]["schema"] == schema
    assert double.requests[0].body.get("stream") is not True  # structured output is not streamed

    with http_double(lambda _r: (200, chat_completion(bad))) as double:
        wrong = await run(
            store, {"openai": double.url}, "llm_completion", {"prompt": "p", "output_schema": schema}
        )
    assert wrong.error is not None
    assert (wrong.error.error_type, wrong.error.retryable) == ("bad_response", True)
    assert "sentiment" in wrong.error.message
    assert "furious" in wrong.error.message


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({}, "prompt"),
        ({"prompt": "p", "output_schema": {"type": "nonsense"}}, "not a valid JSON Schema"),
        ({"prompt": "p", "max_tokens": 0}, "max_tokens"),
        ({"prompt": "p", "temperature": 5}, "temperature"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0]: role"),
    ],
)
async def test_bad_config_is_refused_before_any_call(
    store: SqlEventStore, config: dict[str, Any], reason: str
) -> None:
    with http_double(openai_answer(["x"])) as double:
        result = await run(store, {"openai": double.url}, "llm_completion", config)
    assert result.error is not None
    assert (result.error.error_type, result.error.retryable) == ("invalid_config", False)
    assert reason in result.error.message
    assert double.requests == []


async def test_workflow_generation_answers_a_plan_the_planner_turns_into_a_valid_definition(
    store: SqlEventStore,
) -> None:
    plan = {
        "steps": [
            {
                "step_id": "notify",
                "title": "Tell sales",
                "service": "slack",
                "action": "post",
                "parameters": {"channel": "#sales", "message": "New lead"},
            },
            {
                "step_id": "follow_up",
                "title": "Email the lead",
                "service": "gmail",
                "action": "send",
                "parameters": {"to": "lead@example.com", "subject": "Hello", "body": "Thanks"},
            },
        ],
        "trigger": {
            "description": "a new lead",
            "service": "hubspot",
            "event": "contact.created",
            "type": "event",
        },
        "category": "sales",
    }

    def respond(recorded: Recorded) -> tuple[int, Any]:
        return 200, chat_completion(json.dumps(plan))

    with http_double(respond) as double:
        request = "When a lead arrives, tell sales on Slack and email the lead"
        result = await run(store, {"openai": double.url}, "workflow_generation", {"request": request})
    assert result.status == "succeeded", result.error
    assert result.output["plan"] == plan
    definition = parse_definition(definition_from_plan(result.output["plan"], request))
    assert [s.type for s in definition.steps.values()] == ["slack_notification", "email_send"]
    assert double.requests[0].body["response_format"]["type"] == "json_schema"


async def test_a_plan_without_steps_is_a_bad_response(store: SqlEventStore) -> None:
    with http_double(lambda _r: (200, chat_completion(json.dumps({"steps": []})))) as double:
        result = await run(store, {"openai": double.url}, "workflow_generation", {"request": "do it"})
    assert result.error is not None
    assert result.error.error_type == "bad_response"


async def test_streams_that_keep_breaking_open_the_providers_breaker(store: SqlEventStore) -> None:
    broken = sse_chunks(["half"], complete=False)
    with (
        http_double(lambda _r: (200, broken, SSE_HEADERS)) as breaking,
        http_double(openai_answer(["from ", "the backup"])) as backup,
    ):
        keys = ProviderKeys(ConnectionVault(store.engine, TEST_MASTER_KEYS))
        await keys.put("acme", "openai", "sk-a", base_url=f"{breaking.url}/v1")
        await keys.put("acme", "deepseek", "sk-b", base_url=f"{backup.url}/v1")
        tokens: list[LlmTokenEvent] = []

        async def publish(event: LlmTokenEvent) -> None:
            tokens.append(event)

        async with httpx.AsyncClient() as client:
            handlers = steps.handlers(
                Gateway(client, keys, [CHEAP, BACKUP]), local_rules=False, publish_token=publish
            )
            results = [
                await run_step(
                    handlers, step_request("llm_completion", {"prompt": "Hi"}, attempt=n), executed_by="t"
                )
                for n in range(1, 5)
            ]
    assert [r.error.error_type if r.error else "ok" for r in results] == ["broken_stream"] * 3 + ["ok"]
    assert len(breaking.requests) == 3  # after three partial breaks the cheap provider is skipped
    assert results[3].output["provider"] == "deepseek"
