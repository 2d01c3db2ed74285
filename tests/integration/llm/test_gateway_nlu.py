"""The gateway end to end over loopback provider doubles: BYOK keys that survive a restart,
ranking with fallback past a failing provider, nlu_analysis as validated JSON with provider,
model, usage and cost, and the clear behaviour without any key."""

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
from flowbus_llm_gateway.model import Usage
from flowbus_llm_gateway.pricing import cost_usd
from flowbus_shared.step_worker import run_step
from flowbus_shared.store import SqlEventStore, open_store
from flowbus_shared.vault import ConnectionVault
from tests.support.executor_deps import TEST_MASTER_KEYS, step_request
from tests.support.http_double import http_double

CHEAP = ModelInfo(
    provider="openai",
    model="cheap-1",
    context_window=128_000,
    quality=95,
    prices=Prices(input=0.1, output=0.4),
    priced_on=date(2026, 11, 1),
)
SOLID = ModelInfo(
    provider="anthropic",
    model="solid-1",
    context_window=200_000,
    quality=95,
    prices=Prices(input=3, output=15, cached_input=0.3),
    priced_on=date(2026, 11, 1),
)
NLU = {
    "intent": "refund request",
    "entities": {"order": "A-1"},
    "priority": "high",
    "category": "billing",
    "confidence": 0.91,
    "tasks": ["refund order A-1"],
}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlEventStore]:
    opened = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}")
    yield opened
    await opened.close()


def openai_answer(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "cheap-1",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
    }


def anthropic_answer(content: str) -> dict[str, Any]:
    # The forced `respond` tool carries structured output.
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "solid-1",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "respond", "input": json.loads(content)}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 200, "output_tokens": 40, "cache_read_input_tokens": 100},
    }


async def test_keys_are_sealed_survive_a_restart_and_are_never_shown(
    store: SqlEventStore, tmp_path: Path
) -> None:
    keys = ProviderKeys(ConnectionVault(store.engine, TEST_MASTER_KEYS))
    fingerprint = await keys.put("acme", "openai", "sk-live-secret", base_url="http://127.0.0.1:1/v1")
    assert "sk-live" not in fingerprint
    reopened = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}")  # a restarted process
    try:
        endpoints = await ProviderKeys(ConnectionVault(reopened.engine, TEST_MASTER_KEYS)).endpoints("acme")
        assert endpoints["openai"].api_key == "sk-live-secret"
        assert "sk-live" not in repr(endpoints["openai"])
        assert (
            await ProviderKeys(ConnectionVault(reopened.engine, TEST_MASTER_KEYS)).endpoints("globex") == {}
        )
    finally:
        await reopened.close()


async def test_nlu_falls_back_past_a_failing_provider_and_prices_the_answer(store: SqlEventStore) -> None:
    keys = ProviderKeys(ConnectionVault(store.engine, TEST_MASTER_KEYS))
    with (
        http_double(lambda _r: (503, {"error": {"message": "overloaded"}})) as broken,
        http_double(lambda _r: (200, anthropic_answer(json.dumps(NLU)))) as working,
    ):
        await keys.put("acme", "openai", "sk-a", base_url=f"{broken.url}/v1")
        await keys.put("acme", "anthropic", "sk-b", base_url=working.url)
        async with httpx.AsyncClient() as client:
            gateway = Gateway(client, keys, [CHEAP, SOLID])
            handler = steps.handlers(gateway, local_rules=False)
            result = await run_step(
                handler,
                step_request("nlu_analysis", {"text_input": "Refund order A-1"}),
                executed_by="llm-gateway",
            )
        assert len(broken.requests) == 1  # the cheaper model was tried first
        assert working.requests[0].headers["x-api-key"] == "sk-b"
    assert result.status == "succeeded", result.error
    output = result.output
    assert {key: output[key] for key in NLU} == NLU
    assert (output["provider"], output["model"]) == ("anthropic", "solid-1")
    usage = Usage(input_tokens=200, cached_input_tokens=100, output_tokens=40)
    assert output["cost_usd"] == pytest.approx(cost_usd(usage, SOLID.prices))
    assert result.confidence == 0.91


async def test_an_answer_that_is_not_the_asked_json_is_retryable(store: SqlEventStore) -> None:
    keys = ProviderKeys(ConnectionVault(store.engine, TEST_MASTER_KEYS))
    with http_double(lambda _r: (200, openai_answer('{"intent": "x"}'))) as api:
        await keys.put("acme", "openai", "sk-a", base_url=f"{api.url}/v1")
        async with httpx.AsyncClient() as client:
            handler = steps.handlers(Gateway(client, keys, [CHEAP]), local_rules=False)
            result = await run_step(
                handler, step_request("nlu_analysis", {"text_input": "hi"}), executed_by="t"
            )
        sent = api.requests[0].body
        assert sent["response_format"]["type"] == "json_schema"
    assert result.error is not None
    assert (result.error.error_type, result.error.retryable) == ("bad_response", True)


async def test_without_a_key_the_rules_answer_only_when_enabled(store: SqlEventStore) -> None:
    keys = ProviderKeys(ConnectionVault(store.engine, TEST_MASTER_KEYS))
    async with httpx.AsyncClient() as client:
        gateway = Gateway(client, keys, [CHEAP])
        request = step_request("nlu_analysis", {"text_input": "URGENT: login is down"})
        labelled = await run_step(steps.handlers(gateway, local_rules=True), request, executed_by="t")
        refused = await run_step(steps.handlers(gateway, local_rules=False), request, executed_by="t")
    assert labelled.output["provider"] == "local-rules"
    assert refused.error is not None
    assert (refused.error.error_type, refused.error.retryable) == ("no_provider", False)
    assert "no LLM provider key" in refused.error.message


async def test_a_step_failure_keeps_the_provider_error_class(store: SqlEventStore) -> None:
    keys = ProviderKeys(ConnectionVault(store.engine, TEST_MASTER_KEYS))
    limited = (429, {"error": {"message": "slow down", "type": "rate_limit_error"}}, {"retry-after": "4"})
    with http_double(lambda _r: limited) as double:
        await keys.put("acme", "openai", "sk-a", base_url=f"{double.url}/v1")
        async with httpx.AsyncClient() as client:
            handler = steps.handlers(Gateway(client, keys, [CHEAP]), local_rules=False)
            result = await run_step(
                handler, step_request("nlu_analysis", {"text_input": "Refund A-1"}), executed_by="t"
            )
    assert result.error is not None
    error = result.error
    assert (error.error_type, error.retryable, error.retry_after_seconds) == ("rate_limit", True, 4)


async def test_budgets_are_enforced_before_the_call_and_settled_with_real_usage(store: SqlEventStore) -> None:
    from decimal import Decimal

    from flowbus_llm_gateway.ledger import Ledger

    keys = ProviderKeys(ConnectionVault(store.engine, TEST_MASTER_KEYS))
    ledger = Ledger(store.engine)
    with http_double(lambda _r: (200, openai_answer(json.dumps(NLU)))) as api:
        await keys.put("acme", "openai", "sk-a", base_url=f"{api.url}/v1")
        await keys.put("poor", "openai", "sk-p", base_url=f"{api.url}/v1")
        await ledger.set_budget("acme", Decimal("10"))
        await ledger.set_budget("poor", Decimal("0.0000001"))
        async with httpx.AsyncClient() as client:
            handler = steps.handlers(Gateway(client, keys, [CHEAP], ledger=ledger), local_rules=False)
            paid = await run_step(
                handler, step_request("nlu_analysis", {"text_input": "Refund A-1"}), executed_by="t"
            )
            poor = step_request("nlu_analysis", {"text_input": "Refund A-1"}).model_copy(
                update={"tenant_id": "poor", "execution_id": "exec-2"}
            )
            refused = await run_step(handler, poor, executed_by="t")
        assert len(api.requests) == 1  # the refused request never reached the provider
    assert paid.status == "succeeded", paid.error
    assert refused.error is not None
    assert (refused.error.error_type, refused.error.retryable) == ("budget_exceeded", False)
    expected = Decimal(str(cost_usd(Usage(input_tokens=120, output_tokens=30), CHEAP.prices)))
    budget = await ledger.budget("acme")
    assert budget is not None
    assert budget.spent_usd == expected.quantize(Decimal("0.00000001"))
    assert budget.reserved_usd == 0
    rows = await ledger.usage("acme")
    assert [(row["provider"], row["model"], row["input_tokens"], row["output_tokens"]) for row in rows] == [
        ("openai", "cheap-1", 120, 30)
    ]
