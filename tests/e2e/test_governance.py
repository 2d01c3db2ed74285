"""Governance across the processes: a governance_check and an agent's tool call denied by the
policy, and approvals given through governance's HTTP API, its CLI, and an approve command sent
to the orchestrator as plain JSON; the waiting execution continues each time."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.e2e.conftest import E2E
from tests.support.e2e_system import TENANT
from tests.support.e2e_workflows import output, send_command, slack_step, start, wait_for


def governance_api(e2e: E2E) -> httpx.AsyncClient:
    """The governance HTTP API as the test user (an admin key made with `flowbus apikeys create`)."""
    return httpx.AsyncClient(
        base_url=e2e.system.url("governance"),
        headers={"authorization": f"Bearer {e2e.system.tokens['user']}"},
    )


def register_agent(agent_id: str) -> dict[str, Any]:
    """The agent_register step: an agent is registered from a workflow (a student to begin with)."""
    return {
        "id": "register",
        "type": "agent_register",
        "config": {"agent_id": agent_id, "name": "E2E agent", "category": "support"},
        "next_steps": ["check"],
    }


async def test_a_check_denied_by_policy_fails_the_execution(running: E2E, uid: str) -> None:
    agent = f"cleaner-{uid}"
    definition = {
        "id": f"deny-{uid}",
        "name": "denied",
        "start_step_id": "register",
        "steps": [
            register_agent(agent),
            {
                "id": "check",
                "type": "governance_check",
                "config": {"agent_id": agent, "action": "thread_delete", "payload": {"thread": uid}},
                "next_steps": ["act"],
            },
            slack_step("act", f"deleted {uid}"),
        ],
    }
    execution = await wait_for(running.system, await start(running.system, running.producer, definition))
    assert execution.status == "failed"
    assert execution.error is not None
    assert (execution.error["step_id"], execution.error["error_type"]) == ("check", "denied")
    assert "autonomous" in execution.error["message"]  # a destroy (4) needs an autonomous agent
    assert running.doubles.slack_texts(f"deleted {uid}") == []
    audit = json.loads(
        await running.system.cli("audit", "list", "--tenant", TENANT, "--agent", agent, "-o", "json")
    )
    decisions = [json.loads(row["record"]) for row in audit if row["kind"] == "decision"]
    assert [(d["action"], d["verdict"]) for d in decisions] == [("thread_delete", "deny")]
    assert "ok:" in await running.system.cli("audit", "verify", "--tenant", TENANT)


async def test_an_agents_tool_call_denied_by_policy_is_reported_to_the_model(running: E2E, uid: str) -> None:
    agent = f"helper-{uid}"
    async with governance_api(running) as api:
        created = await api.post("/v1/agents", json={"agent_id": agent, "name": "helper"})
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "student"
    goal = f'Tell the team. call slack_notification {{"channel": "#ops", "message": "agent says {uid}"}}'
    definition = {
        "id": f"agent-deny-{uid}",
        "name": "agent denied",
        "start_step_id": "agent",
        "steps": [
            {
                "id": "agent",
                "type": "agent_execution",
                "config": {"agent_id": agent, "goal": goal, "tools": ["slack_notification"]},
            }
        ],
    }
    execution = await wait_for(running.system, await start(running.system, running.producer, definition))
    assert execution.status == "completed", execution.error
    result = output(execution, "agent")
    assert result["tool_calls"] == [{"name": "slack_notification", "verdict": "deny", "ok": False}]
    assert result["answer"].startswith("finished; the tool answered:")
    assert "denied" in result["answer"]
    assert running.doubles.slack_texts(f"agent says {uid}") == []  # the call never reached Slack


async def test_an_approval_through_the_governance_api_lets_the_execution_continue(
    running: E2E, uid: str
) -> None:
    agent = f"reader-{uid}"
    definition = {
        "id": f"approve-api-{uid}",
        "name": "approved through the API",
        "start_step_id": "register",
        "steps": [
            register_agent(agent),
            {
                "id": "check",
                "type": "governance_check",
                "config": {
                    "agent_id": agent,
                    "action": "read",
                    "payload": {"doc": uid},
                    "require_approval": True,
                },
                "next_steps": ["act"],
            },
            slack_step("act", f"approved {uid}"),
        ],
    }
    execution_id = await start(running.system, running.producer, definition)
    waiting = await wait_for(running.system, execution_id, "waiting_approval")
    approval_id = output(waiting, "check")["approval_id"]
    assert running.doubles.slack_texts(f"approved {uid}") == []
    async with governance_api(running) as api:
        pending = (await api.get("/v1/approvals")).json()["data"]
        assert approval_id in [a["approval_id"] for a in pending]
        approved = await api.post(f"/v1/approvals/{approval_id}/approve", json={"comment": "fine"})
        assert approved.status_code == 200, approved.text
        again = await api.post(f"/v1/approvals/{approval_id}/approve", json={"comment": "twice"})
        assert again.status_code == 409
    done = await wait_for(running.system, execution_id)
    assert done.status == "completed", done.error
    assert running.doubles.slack_texts(f"approved {uid}") == [f"approved {uid}"]
    granted = [d for kind, d in await running.system.events(execution_id) if kind == "approval.granted"]
    assert len(granted) == 1


async def test_an_approval_required_step_continues_on_an_approve_command(running: E2E, uid: str) -> None:
    definition = {
        "id": f"approve-cmd-{uid}",
        "name": "approved by command",
        "start_step_id": "ask",
        "steps": [
            {
                "id": "ask",
                "type": "approval_required",
                "config": {"reason": "a person signs off"},
                "next_steps": ["act"],
            },
            slack_step("act", f"signed off {uid}"),
        ],
    }
    execution_id = await start(running.system, running.producer, definition)
    await wait_for(running.system, execution_id, "waiting_approval")
    command = {
        "type": "command.approve",
        "execution_id": execution_id,
        "step_id": "ask",
        "approved_by": "ops@acme.test",
    }
    await send_command(running.system, running.producer, command)
    done = await wait_for(running.system, execution_id)
    assert done.status == "completed", done.error
    assert output(done, "ask") == {"approved_by": "ops@acme.test", "comment": ""}
    assert running.doubles.slack_texts(f"signed off {uid}") == [f"signed off {uid}"]


async def test_an_agents_risky_call_waits_for_approval_given_with_the_cli(running: E2E, uid: str) -> None:
    agent = f"poster-{uid}"
    async with governance_api(running) as api:
        assert (await api.post("/v1/agents", json={"agent_id": agent})).status_code == 201
        promoted = await api.post(
            f"/v1/agents/{agent}/status", json={"status": "supervised", "reason": "e2e"}
        )
        assert promoted.status_code == 200, promoted.text
    goal = f'Post it. call slack_notification {{"channel": "#ops", "message": "supervised {uid}"}}'
    definition = {
        "id": f"agent-approve-{uid}",
        "name": "agent approved",
        "start_step_id": "agent",
        "steps": [
            {
                "id": "agent",
                "type": "agent_execution",
                "config": {"agent_id": agent, "goal": goal, "tools": ["slack_notification"]},
            }
        ],
    }
    execution_id = await start(running.system, running.producer, definition)
    waiting = await wait_for(running.system, execution_id, "waiting_approval")
    paused = output(waiting, "agent")
    assert (paused["verdict"], paused["tool"]) == ("approval_required", "slack_notification")
    assert running.doubles.slack_texts(f"supervised {uid}") == []
    await running.system.cli(
        "approvals", "approve", paused["approval_id"], "--tenant", TENANT, "--comment", "ok"
    )
    done = await wait_for(running.system, execution_id)
    assert done.status == "completed", done.error
    assert output(done, "agent")["tool_calls"] == [
        {"name": "slack_notification", "verdict": "approved", "ok": True}
    ]
    assert running.doubles.slack_texts(f"supervised {uid}") == [f"supervised {uid}"]


async def test_registering_an_agent_from_a_workflow_needs_no_approval(running: E2E, uid: str) -> None:
    step = {**register_agent(f"new-{uid}"), "next_steps": []}  # the default confidence threshold
    definition = {"id": f"register-{uid}", "name": "register", "start_step_id": "register", "steps": [step]}
    execution_id = await start(running.system, running.producer, definition)
    execution = await wait_for(running.system, execution_id, "completed", "failed", "waiting_approval")
    assert execution.status == "completed"
