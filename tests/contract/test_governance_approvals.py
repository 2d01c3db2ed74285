"""Governance approvals on every database: bound to their payload, decided once by compare-and-set,
never approved after their expiry - not even when a decision races the expiry sweeper - and audited
in the transaction that changes them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flowbus_governance.adapters.approvals import (
    Approval,
    ApprovalConflict,
    ApprovalNotFound,
    ApprovalStore,
    PayloadMismatch,
    payload_hash,
)
from flowbus_governance.adapters.audit import AuditLog
from flowbus_shared.store import SqlEventStore

PAYLOAD = {"to": "ceo@example.com", "subject": "Q3", "amount": 1200.0, "lines": [1, 2]}


@pytest.fixture
def audit(store: SqlEventStore) -> AuditLog:
    return AuditLog(store.engine)


@pytest.fixture
def approvals(store: SqlEventStore, audit: AuditLog) -> ApprovalStore:
    return ApprovalStore(store.engine, audit)


def in_an_hour() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)


async def ask(
    approvals: ApprovalStore, tenant: str, expires_at: datetime | None = None, **where: Any
) -> Approval:
    return await approvals.request(
        tenant,
        agent_id="mailer",
        action="send_email",
        payload=PAYLOAD,
        reason="external recipient",
        expires_at=expires_at or in_an_hour(),
        **where,
    )


async def kinds(audit: AuditLog, tenant: str) -> list[tuple[str, str]]:
    """(kind, approval id) of the tenant's approval audit records, oldest first."""
    entries = await audit.query(tenant, limit=10_000)
    return [(e.kind, e.record["approval_id"]) for e in reversed(entries) if e.kind.startswith("approval.")]


async def test_request_then_approve(approvals: ApprovalStore, audit: AuditLog, tenant: str) -> None:
    approval = await ask(approvals, tenant, execution_id="ex-1", step_id="send", decision_id="dec-1")
    assert (approval.state, approval.agent_id, approval.action, approval.attempt) == (
        "pending",
        "mailer",
        "send_email",
        1,
    )
    assert approval.payload == {**PAYLOAD, "amount": 1200}  # canonical: as either database returns it
    assert approval.payload_hash == payload_hash(PAYLOAD)
    assert approval.request_key == "ex-1:send:1"
    assert approval.requested_at.tzinfo is not None
    assert await approvals.get(tenant, approval.approval_id) == approval
    assert await approvals.get(f"{tenant}-other", approval.approval_id) is None
    assert await approvals.pending(tenant) == [approval]

    decided = await approvals.decide(
        tenant,
        approval.approval_id,
        approve=True,
        by="key:ops",
        comment="fine",
        payload_hash=payload_hash(PAYLOAD),
    )
    assert (decided.state, decided.decided_by, decided.decision_comment) == ("approved", "key:ops", "fine")
    assert decided.decided_at is not None
    assert await approvals.get(tenant, approval.approval_id) == decided
    assert await approvals.pending(tenant) == []
    assert await kinds(audit, tenant) == [
        ("approval.requested", approval.approval_id),
        ("approval.approved", approval.approval_id),
    ]
    [approved] = await audit.query(tenant, kind="approval.approved")
    assert (approved.record["by"], approved.record["decision_id"], approved.record["agent_id"]) == (
        "key:ops",
        "dec-1",
        "mailer",
    )
    assert (await audit.verify(tenant)).ok


async def test_reject_and_a_second_decision_is_refused(
    approvals: ApprovalStore, audit: AuditLog, tenant: str
) -> None:
    approval = await ask(approvals, tenant)
    rejected = await approvals.decide(tenant, approval.approval_id, approve=False, by="key:ops", comment="no")
    assert rejected.state == "rejected"
    for approve in (True, False):
        with pytest.raises(ApprovalConflict) as conflict:
            await approvals.decide(tenant, approval.approval_id, approve=approve, by="key:other")
        assert conflict.value.state == "rejected"
    stored = await approvals.get(tenant, approval.approval_id)
    assert stored == rejected
    assert [kind for kind, _ in await kinds(audit, tenant)] == ["approval.requested", "approval.rejected"]


async def test_unknown_approval_and_payload_mismatch(
    approvals: ApprovalStore, audit: AuditLog, tenant: str
) -> None:
    approval = await ask(approvals, tenant)
    with pytest.raises(ApprovalNotFound):
        await approvals.decide(tenant, "nope", approve=True, by="key:ops")
    with pytest.raises(ApprovalNotFound):
        await approvals.decide(f"{tenant}-other", approval.approval_id, approve=True, by="key:ops")
    changed = payload_hash({**PAYLOAD, "to": "everyone@example.com"})
    with pytest.raises(PayloadMismatch) as mismatch:
        await approvals.decide(tenant, approval.approval_id, approve=True, by="key:ops", payload_hash=changed)
    assert (mismatch.value.expected, mismatch.value.given) == (approval.payload_hash, changed)
    assert await approvals.get(tenant, approval.approval_id) == approval  # still pending
    assert len(await kinds(audit, tenant)) == 1


async def test_a_redelivered_request_finds_its_approval(
    approvals: ApprovalStore, audit: AuditLog, tenant: str
) -> None:
    first = await ask(approvals, tenant, execution_id="ex-1", step_id="send", attempt=1)
    again = await ask(approvals, tenant, execution_id="ex-1", step_id="send", attempt=1)
    assert again == first
    racing = await asyncio.gather(
        *(ask(approvals, tenant, execution_id="ex-2", step_id="send") for _ in range(5))
    )
    assert len({approval.approval_id for approval in racing}) == 1
    retried = await ask(approvals, tenant, execution_id="ex-1", step_id="send", attempt=2)
    assert retried.approval_id != first.approval_id  # a new attempt asks anew
    decided = await approvals.decide(tenant, first.approval_id, approve=True, by="key:ops")
    assert await ask(approvals, tenant, execution_id="ex-1", step_id="send", attempt=1) == decided
    loose = [await ask(approvals, tenant) for _ in range(2)]  # no execution: never deduplicated
    assert loose[0].approval_id != loose[1].approval_id
    assert loose[0].request_key == loose[0].approval_id
    other = await ask(approvals, f"{tenant}-other", execution_id="ex-1", step_id="send")
    assert other.approval_id != first.approval_id  # keys are per tenant
    requested = [kind for kind, _ in await kinds(audit, tenant) if kind == "approval.requested"]
    assert len(requested) == 5  # ex-1/1, ex-2, ex-1/2 and the two loose ones
    assert len(await approvals.pending(tenant)) == 4


async def test_expire_due_moves_only_due_approvals(
    approvals: ApprovalStore, audit: AuditLog, tenant: str
) -> None:
    now = datetime.now(UTC)
    due = await ask(approvals, tenant, expires_at=now - timedelta(seconds=1))
    exactly_now = await ask(approvals, tenant, expires_at=now)
    later = await ask(approvals, tenant, expires_at=now + timedelta(minutes=5))
    decided = await ask(approvals, tenant, expires_at=now + timedelta(seconds=1))
    await approvals.decide(tenant, decided.approval_id, approve=True, by="key:ops", now=now)

    expired = await approvals.expire_due(now + timedelta(seconds=2), tenant_id=tenant)
    assert {a.approval_id for a in expired} == {due.approval_id, exactly_now.approval_id}
    assert all(a.state == "expired" and a.decided_at is not None for a in expired)
    assert await approvals.expire_due(now + timedelta(seconds=2), tenant_id=tenant) == []
    assert [a.approval_id for a in await approvals.pending(tenant, now=now)] == [later.approval_id]
    assert [a.approval_id for a in await approvals.pending(tenant, now=now + timedelta(minutes=5))] == []
    stored = await approvals.get(tenant, decided.approval_id)
    assert stored is not None
    assert stored.state == "approved"  # a decided approval is never expired
    expired_records = [
        approval_id for kind, approval_id in await kinds(audit, tenant) if kind == "approval.expired"
    ]
    assert sorted(expired_records) == sorted([due.approval_id, exactly_now.approval_id])

    # Without a tenant, the sweep covers every tenant.
    other = f"{tenant}-other"
    theirs = await ask(approvals, other, expires_at=now - timedelta(seconds=1))
    swept: list[Approval] = []
    while batch := await approvals.expire_due(now, limit=1000):
        swept += batch
    assert theirs.approval_id in {a.approval_id for a in swept}
    assert (await audit.verify(other)).ok


async def test_a_decision_after_expiry_is_refused(
    approvals: ApprovalStore, audit: AuditLog, tenant: str
) -> None:
    now = datetime.now(UTC)
    swept = await ask(approvals, tenant, expires_at=now - timedelta(seconds=1))
    await approvals.expire_due(now, tenant_id=tenant)
    with pytest.raises(ApprovalConflict) as conflict:
        await approvals.decide(tenant, swept.approval_id, approve=True, by="key:ops")
    assert conflict.value.state == "expired"
    stored = await approvals.get(tenant, swept.approval_id)
    assert stored is not None
    assert stored.state == "expired"

    # Not swept yet: the expiry guard of the decision refuses it all the same.
    unswept = await ask(approvals, tenant, expires_at=now + timedelta(minutes=1))
    late = now + timedelta(minutes=1)
    with pytest.raises(ApprovalConflict) as conflict:
        await approvals.decide(tenant, unswept.approval_id, approve=True, by="key:ops", now=late)
    assert conflict.value.state == "expired"
    stored = await approvals.get(tenant, unswept.approval_id)
    assert stored is not None
    assert (stored.state, stored.effective_state(late), stored.decided_by) == ("pending", "expired", None)
    [expired] = await approvals.expire_due(late, tenant_id=tenant)
    assert (expired.approval_id, expired.state) == (unswept.approval_id, "expired")
    assert [kind for kind, _ in await kinds(audit, tenant)] == [
        "approval.requested",
        "approval.expired",
        "approval.requested",
        "approval.expired",
    ]
    assert (await audit.verify(tenant)).ok


async def test_decisions_of_workflow_steps_stay_undelivered_until_marked(
    approvals: ApprovalStore, tenant: str
) -> None:
    now = datetime.now(UTC)
    approved = await ask(approvals, tenant, execution_id="ex-1", step_id="send")
    expiring = await ask(approvals, tenant, execution_id="ex-2", step_id="send", expires_at=now)
    loose = await ask(approvals, tenant)  # no workflow step: nothing to deliver
    await ask(approvals, tenant, execution_id="ex-3", step_id="send")  # still pending
    await approvals.decide(tenant, approved.approval_id, approve=True, by="key:ops", now=now)
    decided_loose = await approvals.decide(tenant, loose.approval_id, approve=False, by="key:ops", now=now)
    assert (decided_loose.deliverable, decided_loose.notified_at) == (False, now)
    await approvals.expire_due(now, tenant_id=tenant)
    undelivered = await approvals.undelivered(tenant_id=tenant)
    assert [a.approval_id for a in undelivered] == sorted([approved.approval_id, expiring.approval_id])
    assert all(a.deliverable and a.notified_at is None for a in undelivered)
    assert await approvals.mark_notified(approved.approval_id) is True
    assert await approvals.mark_notified(approved.approval_id) is False  # once
    assert await approvals.mark_notified(loose.approval_id) is False  # marked with its decision
    assert [a.approval_id for a in await approvals.undelivered(tenant_id=tenant)] == [expiring.approval_id]
    marked = await approvals.get(tenant, approved.approval_id)
    assert marked is not None
    assert marked.notified_at is not None
    assert marked.notified_at.tzinfo is not None
    assert await approvals.mark_notified(expiring.approval_id, now=now) is True
    assert await approvals.undelivered(tenant_id=tenant) == []
    assert isinstance(await approvals.undelivered(limit=5), list)  # every tenant


@pytest.mark.parametrize("round_", range(3))
async def test_a_decision_racing_the_sweeper_ends_in_one_state(
    approvals: ApprovalStore, audit: AuditLog, tenant: str, round_: int
) -> None:
    expires_at = in_an_hour()
    asked = [await ask(approvals, tenant, expires_at=expires_at) for _ in range(20)]
    just_before, at_expiry = expires_at - timedelta(microseconds=1), expires_at

    async def decide(approval: Approval, delay: float) -> Approval | str:
        """The approved approval, or the state the refusal reported."""
        await asyncio.sleep(delay)  # spread the decisions over the sweeps' run
        try:
            return await approvals.decide(
                tenant, approval.approval_id, approve=True, by="key:ops", now=just_before
            )
        except ApprovalConflict as conflict:
            return conflict.state

    await asyncio.gather(*(approvals.pending(tenant) for _ in range(10)))  # connections ready for all
    sweeps = [approvals.expire_due(at_expiry, limit=5 + n, tenant_id=tenant) for n in range(4)]
    decisions = [decide(approval, 0.003 * n) for n, approval in enumerate(reversed(asked))]
    batches, decided = await asyncio.gather(asyncio.gather(*sweeps), asyncio.gather(*decisions))
    swept = [approval.approval_id for batch in batches for approval in batch]
    approved = [outcome.approval_id for outcome in decided if isinstance(outcome, Approval)]
    assert {outcome for outcome in decided if isinstance(outcome, str)} <= {"expired"}
    while batch := await approvals.expire_due(at_expiry, tenant_id=tenant):  # what the sweeps left
        swept += [a.approval_id for a in batch]
    assert len(swept) == len(set(swept))  # no approval expired twice
    assert set(swept).isdisjoint(approved)
    assert set(swept) | set(approved) == {a.approval_id for a in asked}
    for approval in asked:
        stored = await approvals.get(tenant, approval.approval_id)
        assert stored is not None
        assert stored.state == ("approved" if approval.approval_id in approved else "expired")
    records = await kinds(audit, tenant)
    terminal = [(kind, approval_id) for kind, approval_id in records if kind != "approval.requested"]
    assert sorted(terminal) == sorted(
        [("approval.approved", approval_id) for approval_id in approved]
        + [("approval.expired", approval_id) for approval_id in swept]
    )
    verification = await audit.verify(tenant)
    assert (verification.ok, verification.checked) == (True, 40)
