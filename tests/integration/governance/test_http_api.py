"""The governance HTTP API as its users drive it: agents, checks, approvals with their
compare-and-set rules and role checks, feedback, and the audit log with its verification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from flowbus_governance.adapters.approvals import payload_hash
from flowbus_governance.governance import Where
from tests.integration.governance.conftest import GovernanceApi

AGENT = {"agent_id": "mailer", "name": "Mailer", "category": "support", "capabilities": ["email"]}


async def register(client: httpx.AsyncClient, status: str | None = None, **extra: Any) -> None:
    assert (await client.post("/v1/agents", json={**AGENT, **extra})).status_code == 201
    if status:
        moved = await client.post(
            f"/v1/agents/{AGENT['agent_id']}/status", json={"status": status, "reason": "test"}
        )
        assert moved.status_code == 200, moved.text


async def test_agents_are_registered_read_updated_and_scoped_by_tenant(api: GovernanceApi) -> None:
    async with api.client() as admin, api.client(role="viewer") as viewer, api.client("globex") as other:
        created = await admin.post("/v1/agents", json=AGENT)
        assert created.status_code == 201
        assert (created.json()["status"], created.json()["confidence"]) == ("student", 0.5)
        assert (await admin.post("/v1/agents", json=AGENT)).status_code == 409
        assert (await viewer.post("/v1/agents", json={**AGENT, "agent_id": "x"})).status_code == 403
        changed = await admin.patch("/v1/agents/mailer", json={"capabilities": ["email", "calendar"]})
        assert changed.json()["capabilities"] == ["email", "calendar"]
        assert [a["agent_id"] for a in (await viewer.get("/v1/agents")).json()["data"]] == ["mailer"]
        assert (await other.get("/v1/agents/mailer")).status_code == 404
        assert (await admin.post("/v1/agents", json={**AGENT, "agent_id": "bad id!"})).status_code == 422


async def test_a_manual_promotion_needs_the_admin_role_and_is_recorded(api: GovernanceApi) -> None:
    async with api.client() as admin, api.client(role="operator") as operator:
        await register(admin)
        body = {"status": "autonomous", "reason": "six months without incident"}
        refused = await operator.post("/v1/agents/mailer/status", json=body)
        assert refused.status_code == 403
        assert "admin" in refused.json()["detail"]
        promoted = await admin.post("/v1/agents/mailer/status", json=body)
        assert promoted.json()["status"] == "autonomous"
        audit = (await admin.get("/v1/audit", params={"kind": "agent.promoted"})).json()["data"]
    assert len(audit) == 1
    assert audit[0]["record"]["reason"] == "six months without incident"
    assert audit[0]["record"]["by"].startswith("key:")


async def test_checks_allow_deny_and_ask_for_approval(api: GovernanceApi) -> None:
    async with api.client() as admin, api.client(role="operator") as operator:
        await register(admin, status="supervised")
        search = (
            await operator.post("/v1/governance/check", json={"agent_id": "mailer", "action": "search"})
        ).json()
        delete = (
            await operator.post(
                "/v1/governance/check", json={"agent_id": "mailer", "action": "thread_delete"}
            )
        ).json()
        send = (
            await operator.post(
                "/v1/governance/check",
                json={"agent_id": "mailer", "action": "send_email", "payload": {"to": "a@b.c"}},
            )
        ).json()
        unknown = (
            await operator.post("/v1/governance/check", json={"agent_id": "mailer", "action": "launch"})
        ).json()
        stranger = (
            await operator.post("/v1/governance/check", json={"agent_id": "nobody", "action": "search"})
        ).json()
    assert search["verdict"] == "allow"
    assert (delete["verdict"], delete["complexity"]) == ("deny", 4)  # no substring guess makes it a read
    assert send["verdict"] == "approval_required"
    assert send["payload_hash"] == payload_hash({"to": "a@b.c"})
    assert (unknown["verdict"], "not in policy" in unknown["reason"]) == ("deny", True)
    assert stranger["verdict"] == "deny"
    assert all(d["policy_version"] == api.governance.policy.version for d in (search, delete, send))


async def test_an_approval_is_decided_once_by_an_operator_and_sent_to_the_orchestrator(
    api: GovernanceApi,
) -> None:
    await api.governance.agents.register(
        "acme", "mailer", name="Mailer", status="supervised", confidence=0.75
    )
    checked = await api.governance.check(
        "acme", "mailer", "send_email", {"to": "a@b.c"}, where=Where("exec-9", "send", 1)
    )
    assert checked.approval is not None
    approval_id = checked.approval.approval_id
    async with api.client(role="operator") as operator, api.client(role="viewer") as viewer:
        pending = (await viewer.get("/v1/approvals")).json()["data"]
        assert [a["approval_id"] for a in pending] == [approval_id]
        assert (await viewer.post(f"/v1/approvals/{approval_id}/approve", json={})).status_code == 403
        wrong = await operator.post(f"/v1/approvals/{approval_id}/approve", json={"payload_hash": "0" * 64})
        assert (wrong.status_code, wrong.json()["error"]["code"]) == (409, "payload_mismatch")
        approved = await operator.post(
            f"/v1/approvals/{approval_id}/approve",
            json={"comment": "fine", "payload_hash": payload_hash({"to": "a@b.c"})},
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["state"] == "approved"
        again = await operator.post(f"/v1/approvals/{approval_id}/reject", json={})
        assert (again.status_code, again.json()["error"]["code"]) == (409, "approval_conflict")
        assert (await viewer.get("/v1/approvals")).json()["data"] == []
    (command,) = api.commands()
    assert (command["type"], command["execution_id"], command["step_id"]) == (
        "command.approve",
        "exec-9",
        "send",
    )
    assert command["message_id"] == f"governance:{approval_id}"
    assert await api.governance.approvals.undelivered() == []


async def test_a_late_approval_after_expiry_changes_nothing(api: GovernanceApi) -> None:
    await api.governance.agents.register(
        "acme", "mailer", name="Mailer", status="supervised", confidence=0.75
    )
    approval = await api.governance.approvals.request(
        "acme",
        agent_id="mailer",
        action="send_email",
        payload={},
        reason="supervised",
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
        execution_id="exec-3",
        step_id="send",
    )
    async with api.client(role="operator") as operator:
        late = await operator.post(f"/v1/approvals/{approval.approval_id}/approve", json={})
    assert late.status_code == 409
    assert "expired" in late.json()["detail"]
    assert await api.notifier.sweep() == 1  # the sweeper expires it and tells the orchestrator
    (command,) = api.commands()
    assert (command["type"], command["reason"]) == ("command.reject", "approval expired")
    stored = await api.governance.approvals.get("acme", approval.approval_id)
    assert stored is not None
    assert stored.state == "expired"


async def test_feedback_moves_confidence_by_the_reviewers_weight(api: GovernanceApi) -> None:
    async with api.client() as admin, api.client(role="operator") as operator:
        await register(admin)
        low = (
            await operator.post("/v1/agents/mailer/feedback", json={"feedback_id": "f1", "success": True})
        ).json()
        high = (
            await admin.post("/v1/agents/mailer/feedback", json={"feedback_id": "f2", "success": False})
        ).json()
        missing = await admin.post("/v1/agents/ghost/feedback", json={"feedback_id": "f3", "success": True})
    assert (low["impact"], low["after"]["confidence"]) == ("low", 0.51)
    assert (high["impact"], high["after"]["confidence"]) == ("high", 0.41)
    assert missing.status_code == 404


async def test_the_audit_chain_verifies_and_finds_a_tampered_row(api: GovernanceApi) -> None:
    async with api.client() as admin:
        await register(admin, status="supervised")
        for action in ("search", "send_email", "thread_delete"):
            await admin.post("/v1/governance/check", json={"agent_id": "mailer", "action": action})
        clean = (await admin.get("/v1/audit/verify")).json()
        decisions = (await admin.get("/v1/audit", params={"kind": "decision"})).json()["data"]
        target = decisions[-1]["seq"]  # the oldest decision
        async with api.store.engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE audit_records SET record = :r WHERE tenant_id = 'acme' AND seq = :s"),
                {"r": '{"verdict": "allow"}', "s": target},
            )
        tampered = (await admin.get("/v1/audit/verify")).json()
    async with api.client("globex") as other_tenant:
        other = (await other_tenant.get("/v1/audit/verify")).json()
    assert (clean["ok"], clean["problems"]) == (True, [])
    assert [d["record"]["action"] for d in decisions] == ["thread_delete", "send_email", "search"]
    assert tampered["ok"] is False
    assert any(str(target) in problem for problem in tampered["problems"])
    assert (other["ok"], other["checked"]) == (True, 0)


async def test_a_check_naming_a_workflow_step_ties_its_approval_to_that_step(api: GovernanceApi) -> None:
    await api.governance.agents.register(
        "acme", "mailer", name="Mailer", status="supervised", confidence=0.75
    )
    body = {
        "agent_id": "mailer",
        "action": "send_email",
        "execution_id": "exec-5",
        "step_id": "agent",
        "attempt": 2,
    }
    async with api.client(role="operator") as operator:
        held = (await operator.post("/v1/governance/check", json=body)).json()
        await operator.post(f"/v1/approvals/{held['approval_id']}/reject", json={"comment": "not this one"})
    (command,) = api.commands()
    assert (command["type"], command["execution_id"], command["step_id"]) == (
        "command.reject",
        "exec-5",
        "agent",
    )
    assert command["reason"] == "not this one"
