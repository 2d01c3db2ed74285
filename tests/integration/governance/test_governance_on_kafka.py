"""Governance with the orchestrator on real Kafka and PostgreSQL: a governance_check that
needs approval holds the execution until a person approves through the API (or the
approval expires), a denial fails the step, and outcomes move the agent's confidence."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from flowbus_governance.app import GovernanceService
from flowbus_governance.settings import GovernanceSettings
from flowbus_shared.auth import ApiKeys
from flowbus_shared.runtime import Context
from flowbus_shared.schemas import StartExecution, new_id
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import COMMANDS
from tests.support.system import System, TestSteps, running_system


def workflow(workflow_id: str, action: str) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": "governed",
        "start_step_id": "check",
        "steps": [
            {
                "id": "check",
                "type": "governance_check",
                "config": {"agent_id": "mailer", "action": action, "payload": {"to": "ceo@example.com"}},
                "next_steps": ["act"],
            },
            {
                "id": "act",
                "type": "data_transformation",
                "config": {"output": {"sent": True}},
                "next_steps": ["learn"],
            },
            {"id": "learn", "type": "agent_outcome", "config": {"agent_id": "mailer", "success": True}},
        ],
    }


async def start(system: System, workflow_id: str, tenant: str) -> str:
    execution_id = new_id()
    await system.context.bus.publish(
        COMMANDS, StartExecution(execution_id=execution_id, workflow_id=workflow_id, tenant_id=tenant)
    )
    return execution_id


def governed(ttl: float) -> dict[str, Any]:
    def create(context: Context) -> GovernanceService:
        settings = GovernanceSettings(
            governance_http_port=0, governance_approval_ttl_seconds=ttl, governance_sweep_interval_seconds=0.1
        )
        return GovernanceService(context, settings)

    return {"governance": create}


def service_of(system: System) -> GovernanceService:
    return next(s for s in system.runtime.services if isinstance(s, GovernanceService))


@pytest.fixture
def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


async def test_an_approval_through_the_api_lets_the_execution_continue(
    system_settings: FlowbusSettings, topic_prefix: str, tenant: str
) -> None:
    async with running_system(
        system_settings, TestSteps(), ["data_transformation"], services=governed(600)
    ) as system:
        governance = service_of(system)
        await governance.governance.agents.register(
            tenant, "mailer", name="Mailer", status="supervised", confidence=0.75
        )
        token = (await ApiKeys(system.context.store.engine).create(tenant, "operator")).token
        await system.register(workflow(f"gov-{topic_prefix}", "send_email"))
        execution_id = await start(system, f"gov-{topic_prefix}", tenant)
        waiting = await system.wait_for_status(execution_id, "waiting_approval")
        approval_id = (waiting.steps["check"].output or {})["approval_id"]
        assert governance.server is not None
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{governance.server.port}",
            headers={"authorization": f"Bearer {token}"},
        ) as client:
            approved = await client.post(f"/v1/approvals/{approval_id}/approve", json={"comment": "ok"})
            assert approved.status_code == 200, approved.text
        done = await system.wait_for_status(execution_id, "completed")
        assert done.steps["act"].output == {"sent": True}
        assert (done.steps["learn"].output or {})["new_confidence"] == pytest.approx(0.76)
        agent = await governance.governance.agents.get(tenant, "mailer")
        assert agent is not None
        assert agent.confidence == pytest.approx(0.76)
        assert (await governance.governance.audit.verify(tenant)).ok


async def test_an_unanswered_approval_expires_and_fails_the_execution(
    system_settings: FlowbusSettings, topic_prefix: str, tenant: str
) -> None:
    async with running_system(
        system_settings, TestSteps(), ["data_transformation"], services=governed(0.5)
    ) as system:
        governance = service_of(system)
        await governance.governance.agents.register(
            tenant, "mailer", name="Mailer", status="supervised", confidence=0.75
        )
        await system.register(workflow(f"exp-{topic_prefix}", "send_email"))
        execution_id = await start(system, f"exp-{topic_prefix}", tenant)
        failed = await system.wait_for_status(execution_id, "failed")
        assert failed.error is not None
        assert failed.error["message"] == "approval expired"
        assert "act" not in failed.steps or failed.steps["act"].status == "pending"


async def test_a_denied_action_fails_the_step_with_the_reason(
    system_settings: FlowbusSettings, topic_prefix: str, tenant: str
) -> None:
    async with running_system(
        system_settings, TestSteps(), ["data_transformation"], services=governed(600)
    ) as system:
        governance = service_of(system)
        await governance.governance.agents.register(tenant, "mailer", name="Mailer")  # a student
        await system.register(workflow(f"deny-{topic_prefix}", "thread_delete"))
        execution_id = await start(system, f"deny-{topic_prefix}", tenant)
        failed = await system.wait_for_status(execution_id, "failed")
        assert failed.error is not None
        assert failed.error["error_type"] == "denied"
        assert "autonomous" in failed.error["message"]
