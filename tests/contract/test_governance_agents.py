"""The governance agent registry on every database: registration, audited changes, and confidence
updates that are atomic read-modify-writes even when many run at once."""

from __future__ import annotations

import asyncio

import pytest

from flowbus_governance.adapters.agents import AgentExists, AgentNotFound, AgentRepository
from flowbus_governance.adapters.audit import AuditLog
from flowbus_shared.store import SqlEventStore


@pytest.fixture
def audit(store: SqlEventStore) -> AuditLog:
    return AuditLog(store.engine)


@pytest.fixture
def agents(store: SqlEventStore, audit: AuditLog) -> AgentRepository:
    return AgentRepository(store.engine, audit)


async def test_register_get_and_list(agents: AgentRepository, audit: AuditLog, tenant: str) -> None:
    agent = await agents.register(
        tenant, "writer", name="Writer", category="content", agent_type="llm", capabilities=["draft", "edit"]
    )
    assert (agent.status, agent.confidence, agent.capabilities) == ("student", 0.5, ("draft", "edit"))
    assert agent.created_at.tzinfo is not None
    assert await agents.get(tenant, "writer") == agent
    assert await agents.get(tenant, "nobody") is None
    await agents.register(tenant, "analyst", name="Analyst", owner="ops", status="intern", confidence=0.6)
    assert [a.agent_id for a in await agents.list(tenant)] == ["analyst", "writer"]
    assert await agents.list(f"{tenant}-other") == []
    [entry] = await audit.query(tenant, agent_id="writer")
    assert entry.kind == "agent.registered"
    assert entry.record["capabilities"] == ["draft", "edit"]
    assert (entry.record["status"], entry.record["confidence"], entry.record["name"]) == (
        "student",
        0.5,
        "Writer",
    )


async def test_a_duplicate_or_invalid_registration_is_refused(
    agents: AgentRepository, audit: AuditLog, tenant: str
) -> None:
    await agents.register(tenant, "writer", name="Writer")
    with pytest.raises(AgentExists, match="already registered"):
        await agents.register(tenant, "writer", name="Another")
    for confidence in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="confidence"):
            await agents.register(tenant, f"bad-{confidence}", name="Bad", confidence=confidence)
    with pytest.raises(ValueError, match="capabilities"):
        await agents.register(tenant, "bad", name="Bad", capabilities="draft")
    await agents.register(f"{tenant}-other", "writer", name="Writer")  # ids are per tenant
    assert len(await audit.query(tenant)) == 1
    assert (await agents.get(tenant, "writer")) is not None
    assert [a.name for a in await agents.list(tenant)] == ["Writer"]


async def test_update_changes_and_audits_only_what_differs(
    agents: AgentRepository, audit: AuditLog, tenant: str
) -> None:
    before = await agents.register(tenant, "writer", name="Writer", owner="ops")
    after = await agents.update(tenant, "writer", name="Senior writer", owner="ops", capabilities=["draft"])
    assert (after.name, after.owner, after.capabilities, after.status) == (
        "Senior writer",
        "ops",
        ("draft",),
        "student",
    )
    assert after.updated_at >= before.updated_at
    assert after.created_at == before.created_at
    [entry] = await audit.query(tenant, kind="agent.updated")
    assert entry.record == {
        "agent_id": "writer",
        "changed": ["capabilities", "name"],
        "old": {"capabilities": [], "name": "Writer"},
        "new": {"capabilities": ["draft"], "name": "Senior writer"},
    }
    unchanged = await agents.update(tenant, "writer", name="Senior writer")
    assert unchanged == after
    assert len(await audit.query(tenant, kind="agent.updated")) == 1
    with pytest.raises(AgentNotFound):
        await agents.update(tenant, "nobody", name="x")


async def test_set_status_is_audited_with_who_and_why(
    agents: AgentRepository, audit: AuditLog, tenant: str
) -> None:
    await agents.register(tenant, "writer", name="Writer")
    promoted = await agents.set_status(tenant, "writer", "supervised", by="key:admin", reason="reviewed")
    assert promoted.status == "supervised"
    paused = await agents.set_status(tenant, "writer", "paused", by="key:admin", reason="incident")
    assert paused.status == "paused"
    again = await agents.set_status(tenant, "writer", "paused", by="key:admin", reason="twice")
    assert again == paused  # nothing to change, nothing audited
    await agents.set_status(tenant, "writer", "intern", by="key:admin", reason="resume", promotion=True)
    await agents.set_status(tenant, "writer", "student", by="key:admin", reason="demote")
    entries = await audit.query(tenant, agent_id="writer")
    assert [e.kind for e in entries] == [
        "agent.status",
        "agent.promoted",
        "agent.status",
        "agent.promoted",
        "agent.registered",
    ]
    assert entries[3].record == {
        "agent_id": "writer",
        "by": "key:admin",
        "reason": "reviewed",
        "old_status": "student",
        "new_status": "supervised",
    }
    with pytest.raises(AgentNotFound):
        await agents.set_status(tenant, "nobody", "paused", by="key:admin", reason="x")
    with pytest.raises(ValueError, match="status"):
        await agents.set_status(tenant, "writer", "", by="key:admin", reason="x")


async def test_change_confidence_returns_before_and_after(
    agents: AgentRepository, audit: AuditLog, tenant: str
) -> None:
    await agents.register(tenant, "writer", name="Writer")
    seen: list[tuple[str, float]] = []

    def promote(status: str, confidence: float) -> tuple[str, float]:
        seen.append((status, confidence))
        return "intern", confidence + 0.05

    changed = await agents.change_confidence(tenant, "writer", promote, cause="outcome:1")
    assert changed is not None
    before, after = changed
    assert seen == [("student", 0.5)]
    assert (before.status, before.confidence) == ("student", 0.5)
    assert (after.status, round(after.confidence, 6)) == ("intern", 0.55)
    assert await agents.get(tenant, "writer") == after
    [entry] = await audit.query(tenant, kind="agent.confidence")
    assert entry.record == {
        "agent_id": "writer",
        "cause": "outcome:1",
        "old_confidence": 0.5,
        "new_confidence": after.confidence,
        "old_status": "student",
        "new_status": "intern",
    }
    assert await agents.change_confidence(tenant, "nobody", promote, cause="x") is None


async def test_an_invalid_computed_confidence_changes_nothing(
    agents: AgentRepository, audit: AuditLog, tenant: str
) -> None:
    registered = await agents.register(tenant, "writer", name="Writer")
    with pytest.raises(ValueError, match="confidence"):
        await agents.change_confidence(tenant, "writer", lambda status, c: (status, c + 1), cause="x")
    assert await agents.get(tenant, "writer") == registered
    assert await audit.query(tenant, kind="agent.confidence") == []
    assert (await audit.verify(tenant)).ok


async def test_concurrent_confidence_changes_are_never_lost(
    agents: AgentRepository, audit: AuditLog, tenant: str
) -> None:
    await agents.register(tenant, "writer", name="Writer")
    await agents.register(tenant, "analyst", name="Analyst")

    def step(status: str, confidence: float) -> tuple[str, float]:
        return status, confidence + 0.01

    changes = [agents.change_confidence(tenant, "writer", step, cause=f"outcome:{n}") for n in range(20)]
    changes += [agents.change_confidence(tenant, "analyst", step, cause=f"outcome:{n}") for n in range(5)]
    results = await asyncio.gather(*changes)
    assert all(result is not None for result in results)
    writer = await agents.get(tenant, "writer")
    assert writer is not None
    assert round(writer.confidence, 6) == 0.70
    analyst = await agents.get(tenant, "analyst")
    assert analyst is not None
    assert round(analyst.confidence, 6) == 0.55
    entries = await audit.query(tenant, kind="agent.confidence", agent_id="writer", limit=1000)
    assert len(entries) == 20
    assert sorted(round(e.record["new_confidence"], 6) for e in entries) == [
        round(0.5 + 0.01 * n, 6) for n in range(1, 21)
    ]
    verification = await audit.verify(tenant)
    assert (verification.ok, verification.checked) == (True, 2 + 20 + 5)


async def test_a_cause_moves_confidence_once(agents: AgentRepository, tenant: str) -> None:
    await agents.register(tenant, "a1", name="A")

    def plus(status: str, confidence: float) -> tuple[str, float]:
        return status, round(confidence + 0.05, 6)

    first = await agents.change_confidence(tenant, "a1", plus, cause="feedback:7")
    again = await agents.change_confidence(tenant, "a1", plus, cause="feedback:7")
    assert first is not None
    assert again is not None
    assert first[1].confidence == 0.55
    assert again[0] == again[1]
    assert again[1].confidence == 0.55
    other = await agents.change_confidence(tenant, "a1", plus, cause="feedback:8")
    assert other is not None
    assert other[1].confidence == 0.6
