"""Dynamic workflows: generated through the llm-gateway's OpenAI-compatible API (a loopback
double until the gateway service serves it), validated, stored only if valid."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from flowbus_orchestrator.adapters.definitions import DefinitionRepository
from flowbus_orchestrator.adapters.generator import GenerationFailed, WorkflowGenerator
from flowbus_shared.store import SqlEventStore, open_store
from tests.support.http_double import Recorded, chat_completion, http_double

TENANT = "generating-tenant"
SERVICE_KEY = "fbk_test_service-key"

PLAN = {
    "steps": [
        {
            "step_id": "notify",
            "title": "Tell the team",
            "service": "slack",
            "action": "post",
            "parameters": {"channel": "#sales", "message": "New lead {{input.email}}"},
            "complexity": 1,
        },
        {
            "step_id": "wait",
            "title": "Wait a day",
            "service": "delay",
            "parameters": {"delay_seconds": 86400},
        },
        {
            "step_id": "deal",
            "title": "Open a deal",
            "service": "hubspot",
            "action": "create",
            "parameters": {"object": "deals", "properties": {"dealname": "{{input.email}}"}},
        },
        {
            "step_id": "crm",
            "title": "Create the deal",
            "service": "pipedrive",
            "action": "create_deal",
            "parameters": {"title": "{{input.email}}"},
        },
    ],
    "trigger": {"service": "forms", "event": "lead_created", "type": "webhook"},
    "is_template": False,
    "category": "sales",
}


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlEventStore]:
    opened = await open_store(database_url)
    yield opened
    await opened.close()


async def generate(
    store: SqlEventStore, answer: Any, request: str = "when a lead comes in, tell sales"
) -> Any:
    def respond(recorded: Recorded) -> tuple[int, Any]:
        return answer if isinstance(answer, tuple) else (200, chat_completion(answer))

    with http_double(respond) as gateway:
        async with httpx.AsyncClient(base_url=f"{gateway.url}/v1/") as client:
            generator = WorkflowGenerator(
                client, DefinitionRepository(store.engine), model="auto", api_key=SecretStr(SERVICE_KEY)
            )
            result = await generator.generate(request, tenant_id=TENANT)
        asked = gateway.requests[0]
        assert asked.path == "/v1/chat/completions"
        assert asked.body["messages"][-1]["content"] == request
        # As the tenant, with flowbus's service key (the gateway's keys and budgets are the tenant's).
        headers = {name.lower(): value for name, value in asked.headers.items()}
        assert headers["x-flowbus-tenant"] == TENANT
        assert headers["authorization"] == f"Bearer {SERVICE_KEY}"
        assert "user" not in asked.body
        return result


async def test_a_valid_plan_becomes_a_stored_definition(store: SqlEventStore) -> None:
    definition = await generate(store, json.dumps(PLAN))
    assert [s.type for s in definition.steps.values()] == [
        "slack_notification",
        "delay",
        "hubspot_integration",
        "universal_integration",
    ]
    assert definition.steps["notify"].next_steps == ("wait",)
    assert definition.steps["deal"].config["action"] == "create"
    assert definition.steps["crm"].config == {
        "service": "pipedrive",
        "action": "create_deal",
        "title": "{{input.email}}",
    }
    assert definition.triggers == ("lead_created",)
    stored = await DefinitionRepository(store.engine).get(definition.id, tenant_id=TENANT)
    assert stored == definition
    # The tenant's own workflow: no other tenant sees it.
    assert await DefinitionRepository(store.engine).get(definition.id, tenant_id="someone-else") is None


async def test_a_plan_in_a_code_fence_is_read(store: SqlEventStore) -> None:
    definition = await generate(
        store, "Here you go:\n```json\n" + json.dumps(PLAN) + "\n```", request="fenced"
    )
    assert len(definition.steps) == 4


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("not json at all", "not usable JSON"),
        (json.dumps({"steps": []}), "non-empty `steps`"),
        ((503, {"error": {"message": "overloaded"}}), "answered 503"),
    ],
)
async def test_unusable_answers_store_nothing(store: SqlEventStore, answer: Any, reason: str) -> None:
    before = await DefinitionRepository(store.engine).latest_all(tenant_id=TENANT)
    with pytest.raises(GenerationFailed, match=reason):
        await generate(store, answer, request=f"bad {reason}")
    assert await DefinitionRepository(store.engine).latest_all(tenant_id=TENANT) == before


async def test_an_invalid_definition_is_refused_with_its_faults(store: SqlEventStore) -> None:
    plan = {
        **PLAN,
        "steps": [{"step_id": "wait", "service": "delay", "parameters": {"delay_seconds": "soon"}}],
    }
    with pytest.raises(GenerationFailed) as raised:
        await generate(store, json.dumps(plan), request="invalid delay")
    assert any("steps.wait.config.delay_seconds" in fault for fault in raised.value.faults)
