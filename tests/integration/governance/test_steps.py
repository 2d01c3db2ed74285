"""The governance step handlers over a real database: what a workflow step gets back for each
verdict, outcomes that count once per step attempt, agents registered through the queue, and
bad configuration refused before anything is recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from flowbus_governance import steps
from flowbus_governance.adapters.agents import AgentRepository
from flowbus_governance.adapters.approvals import ApprovalStore
from flowbus_governance.adapters.audit import AuditLog
from flowbus_governance.domain.policy import default_policy
from flowbus_governance.governance import Governance
from flowbus_shared.schemas import StepRequest, StepResult
from flowbus_shared.step_worker import run_step
from flowbus_shared.store import open_store
from tests.support.executor_deps import TENANT, step_request


@pytest.fixture
async def governance(tmp_path: Path) -> AsyncIterator[Governance]:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'steps.db'}")
    audit = AuditLog(store.engine)
    yield Governance(
        AgentRepository(store.engine, audit),
        ApprovalStore(store.engine, audit),
        audit,
        default_policy(),
        approval_ttl_seconds=600,
    )
    await store.close()


async def run(governance: Governance, request: StepRequest) -> StepResult:
    return await run_step(steps.handlers(governance), request, executed_by="governance")


def check(action: str, **extra: Any) -> StepRequest:
    return step_request("governance_check", {"agent_id": "mailer", "action": action, **extra})


async def test_each_verdict_as_a_step_sees_it(governance: Governance) -> None:
    await governance.agents.register(TENANT, "mailer", name="Mailer", status="supervised", confidence=0.75)
    allowed = await run(governance, check("search"))
    assert allowed.status == "succeeded"
    assert allowed.output["verdict"] == "allow"
    held = await run(governance, check("send_email", payload={"to": "a@b.c"}))
    assert held.output["verdict"] == "approval_required"
    assert 590 < held.output["expires_in_seconds"] <= 600
    assert held.output["decision_id"] == "dec-exec-1:step:1"
    denied = await run(governance, check("payment"))
    assert denied.error is not None
    assert (denied.error.error_type, denied.error.retryable) == ("denied", False)
    assert "autonomous" in denied.error.message
    kinds = [e.kind for e in await governance.audit.query(TENANT)]
    assert kinds.count("decision") == 3
    assert kinds.count("approval.requested") == 1


async def test_an_outcome_counts_once_per_step_attempt(governance: Governance) -> None:
    await governance.agents.register(TENANT, "mailer", name="Mailer")
    outcome = step_request("agent_outcome", {"agent_id": "mailer", "success": False, "impact": "high"})
    first = await run(governance, outcome)
    again = await run(governance, outcome)  # a redelivery that ran the handler again
    assert (first.output["old_confidence"], first.output["new_confidence"]) == (0.5, 0.4)
    assert again.output["new_confidence"] == 0.4
    agent = await governance.agents.get(TENANT, "mailer")
    assert agent is not None
    assert (agent.confidence, agent.status) == (0.4, "student")


async def test_agents_are_registered_and_updated_through_the_queue(governance: Governance) -> None:
    config = {"agent_id": "triage", "name": "Triage", "category": "support", "capabilities": ["read"]}
    created = await run(governance, step_request("agent_register", config))
    assert (created.output["created"], created.output["status"]) == (True, "student")
    updated = await run(
        governance, step_request("agent_register", {"agent_id": "triage", "capabilities": ["read", "tag"]})
    )
    assert updated.output["created"] is False
    agent = await governance.agents.get(TENANT, "triage")
    assert agent is not None
    assert (agent.name, agent.capabilities) == ("Triage", ("read", "tag"))


@pytest.mark.parametrize(
    ("step_type", "config", "reason"),
    [
        ("governance_check", {"action": "search"}, "agent_id"),
        ("governance_check", {"agent_id": "mailer", "action": ""}, "action"),
        ("governance_check", {"agent_id": "mailer", "action": "search", "payload": [1]}, "payload"),
        (
            "governance_check",
            {"agent_id": "mailer", "action": "search", "require_approval": "yes"},
            "require_approval",
        ),
        ("agent_outcome", {"agent_id": "mailer", "success": "yes"}, "success"),
        ("agent_outcome", {"agent_id": "mailer", "success": True, "impact": "huge"}, "impact"),
        ("agent_register", {"agent_id": "x", "capabilities": "all"}, "capabilities"),
    ],
)
async def test_bad_config_is_refused_and_records_nothing(
    governance: Governance, step_type: str, config: dict[str, Any], reason: str
) -> None:
    result = await run(governance, step_request(step_type, config))
    assert result.error is not None
    assert (result.error.error_type, result.error.retryable) == ("invalid_config", False)
    assert reason in result.error.message
    assert await governance.audit.query(TENANT) == []


async def test_an_outcome_for_an_unknown_agent_fails_permanently(governance: Governance) -> None:
    result = await run(governance, step_request("agent_outcome", {"agent_id": "ghost", "success": True}))
    assert result.error is not None
    assert result.error.error_type == "unknown_agent"
