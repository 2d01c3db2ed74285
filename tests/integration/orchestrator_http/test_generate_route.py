"""POST /v1/workflows/generate against an llm-gateway double (OpenAI Chat Completions on
loopback): a valid plan becomes the tenant's workflow, an invalid one is a 422 with its faults,
a failing gateway a 502."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from flowbus_shared.settings import FlowbusSettings
from tests.integration.orchestrator_http.harness import api_system
from tests.support.http_double import HttpDouble, Recorded, http_double
from tests.support.llm_double import openai_answer
from tests.support.system import TestSteps

SERVICE_KEY = "fbk_orchestrator_service-key-for-the-double"
PLAN = {
    "steps": [
        {
            "step_id": "notify",
            "title": "Tell the team",
            "service": "slack",
            "action": "post",
            "parameters": {"channel": "#sales", "message": "New lead {{input.email}}"},
        },
        {
            "step_id": "wait",
            "title": "Wait a day",
            "service": "delay",
            "action": "wait",
            "parameters": {"delay_seconds": 60},
        },
    ],
    "trigger": {"service": "forms", "event": "lead_created", "type": "webhook"},
    "category": "sales",
}


class Gateway:
    """What the double answers next: a plan, or an error status."""

    def __init__(self) -> None:
        self.plan: Any = PLAN
        self.status = 200

    def respond(self, recorded: Recorded) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
        if self.status != 200:
            return self.status, {"error": {"message": "the gateway is overloaded"}}
        answer: tuple[int, Any] | tuple[int, Any, dict[str, str]] = openai_answer([json.dumps(self.plan)])(
            recorded
        )
        return answer


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Gateway, HttpDouble]]:
    answers = Gateway()
    with http_double(answers.respond) as double:
        monkeypatch.setenv("FLOWBUS_LLM_GATEWAY_URL", f"{double.url}/v1")
        monkeypatch.setenv("FLOWBUS_LLM_GATEWAY_API_KEY", SERVICE_KEY)
        yield answers, double


async def test_generation_through_the_gateway(
    sqlite_settings: FlowbusSettings, topic_prefix: str, gateway: tuple[Gateway, HttpDouble]
) -> None:
    answers, double = gateway
    async with api_system(sqlite_settings, TestSteps(), [], prefix=topic_prefix) as api:
        request = "when a lead comes in, tell sales and wait a minute"
        created = await api["admin"].post("/v1/workflows/generate", json={"request": request})
        assert created.status_code == 201, created.text
        workflow = created.json()
        assert workflow["workflow_id"].startswith("generated_")
        assert (workflow["builtin"], workflow["version"], workflow["triggers"]) == (
            False,
            1,
            ["lead_created"],
        )
        assert [s["type"] for s in workflow["definition"]["steps"].values()] == [
            "slack_notification",
            "delay",
        ]
        # Asked as the caller's tenant, with the service key; the model saw the request.
        asked = double.requests[-1]
        headers = {name.lower(): value for name, value in asked.headers.items()}
        assert (asked.path, headers["x-flowbus-tenant"]) == ("/v1/chat/completions", api.tenant_a)
        assert headers["authorization"] == f"Bearer {SERVICE_KEY}"
        assert asked.body["messages"][-1]["content"] == request
        stored = await api["viewer"].get(f"/v1/workflows/{workflow['workflow_id']}")
        assert stored.status_code == 200
        assert (await api["b_admin"].get(f"/v1/workflows/{workflow['workflow_id']}")).status_code == 404

        # An operator may draft (nothing stored), not register.
        assert (
            await api["operator"].post("/v1/workflows/generate", json={"request": "x"})
        ).status_code == 403
        draft = await api["operator"].post(
            "/v1/workflows/generate", json={"request": "draft it", "register": False}
        )
        assert draft.status_code == 200
        assert draft.json()["created_at"] is None
        assert (await api["viewer"].get(f"/v1/workflows/{draft.json()['workflow_id']}")).status_code == 404

        answers.plan = {
            "steps": [{"step_id": "wait", "service": "delay", "parameters": {"delay_seconds": "soon"}}]
        }
        invalid = await api["admin"].post("/v1/workflows/generate", json={"request": "an invalid plan"})
        assert invalid.status_code == 422
        assert any(f["field"] == "steps.wait.config.delay_seconds" for f in invalid.json()["faults"])
        answers.plan = {"no": "steps"}
        not_a_plan = await api["admin"].post("/v1/workflows/generate", json={"request": "not a plan"})
        assert not_a_plan.status_code == 422
        assert "steps" in not_a_plan.json()["detail"]

        answers.status = 503
        failing = await api["admin"].post("/v1/workflows/generate", json={"request": "the gateway fails"})
        assert failing.status_code == 502
        assert "503" in failing.json()["detail"]
        assert SERVICE_KEY not in failing.text


async def test_without_a_gateway_generation_is_unavailable(
    sqlite_settings: FlowbusSettings, topic_prefix: str
) -> None:
    async with api_system(sqlite_settings, TestSteps(), [], prefix=topic_prefix) as api:
        answered = await api["admin"].post("/v1/workflows/generate", json={"request": "anything"})
        assert answered.status_code == 503
        assert "FLOWBUS_LLM_GATEWAY_URL" in answered.json()["detail"]
