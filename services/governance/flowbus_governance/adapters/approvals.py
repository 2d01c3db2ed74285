"""Durable approvals, each bound to the exact payload of the action it approves.

A request is idempotent on its key, "<execution>:<step>:<attempt>" (a redelivered step finds the
approval it asked for) or the approval id when there is no execution (never deduplicated). Every state
change is one compare-and-set, `UPDATE ... WHERE state = 'pending' AND <expiry guard> RETURNING`,
audited in the same transaction: a decision and the expiry sweeper racing for one approval cannot both
win, and a decision made after `expires_at` changes nothing even before the sweeper has run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_governance.adapters.audit import AuditLog, canonicalise, sha256_hex, utc
from flowbus_governance.adapters.tables import governance_approvals
from flowbus_shared import metrics

PENDING, APPROVED, REJECTED, EXPIRED = "pending", "approved", "rejected", "expired"


def payload_hash(payload: dict[str, Any]) -> str:
    """The SHA-256 (hex) of the payload's canonical JSON: what an approver's decision is bound to."""
    return sha256_hex(payload)


class ApprovalError(Exception):
    """An approval operation that cannot be carried out."""


class ApprovalNotFound(ApprovalError):
    def __init__(self, tenant_id: str, approval_id: str) -> None:
        self.tenant_id, self.approval_id = tenant_id, approval_id
        super().__init__(f"tenant {tenant_id!r} has no approval {approval_id!r}")


class ApprovalConflict(ApprovalError):
    """The approval is no longer pending: `state` is where it stands ('expired' also when its time is up
    but the sweeper has not marked it yet; then the stored state is still 'pending')."""

    def __init__(self, approval_id: str, state: str) -> None:
        self.approval_id, self.state = approval_id, state
        super().__init__(f"approval {approval_id!r} is {state}, it can no longer be decided")


class PayloadMismatch(ApprovalError):
    """The approver saw another payload than the one the approval is bound to."""

    def __init__(self, approval_id: str, expected: str, given: str) -> None:
        self.approval_id, self.expected, self.given = approval_id, expected, given
        super().__init__(f"approval {approval_id!r} is for payload {expected}, not {given}")


@dataclass(frozen=True)
class Approval:
    approval_id: str
    tenant_id: str
    request_key: str
    agent_id: str
    action: str
    payload: dict[str, Any]
    payload_hash: str
    state: str
    reason: str
    execution_id: str | None
    step_id: str | None
    attempt: int
    decision_id: str | None
    requested_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_comment: str | None
    notified_at: datetime | None

    @property
    def deliverable(self) -> bool:
        """Whether the decision has to be sent to a workflow step (the orchestrator waits for it)."""
        return self.execution_id is not None and self.step_id is not None

    def effective_state(self, now: datetime | None = None) -> str:
        """The state, with a pending approval past its expiry counted as expired."""
        if self.state == PENDING and self.expires_at <= utc(now or datetime.now(UTC)):
            return EXPIRED
        return self.state


def _approval(row: Any) -> Approval:
    values = dict(row._mapping)
    for name in ("requested_at", "expires_at", "decided_at", "notified_at"):
        if values[name] is not None:
            values[name] = utc(values[name])
    return Approval(**values)


def _record(approval: Approval, **extra: Any) -> dict[str, Any]:
    """The audit record of an approval's state change."""
    return {
        "approval_id": approval.approval_id,
        "agent_id": approval.agent_id,
        "action": approval.action,
        "payload_hash": approval.payload_hash,
        "state": approval.state,
        "execution_id": approval.execution_id,
        "step_id": approval.step_id,
        "attempt": approval.attempt,
        "decision_id": approval.decision_id,
        **extra,
    }


def _nothing_to_tell(moment: datetime) -> sa.ColumnElement[datetime | None]:
    """`notified_at` of a decision made at `moment`: null (to be sent) if a workflow step waits for it,
    else `moment` (nothing to send), so undelivered decisions stay few."""
    a = governance_approvals.c
    deliverable = sa.and_(a.execution_id.is_not(None), a.step_id.is_not(None))
    return sa.case((deliverable, sa.null()), else_=sa.literal(moment, a.notified_at.type))


class ApprovalStore:
    def __init__(self, engine: AsyncEngine, audit: AuditLog) -> None:
        self._engine = engine
        self._audit = audit
        self._postgres = engine.dialect.name == "postgresql"  # else SQLite

    async def request(
        self,
        tenant_id: str,
        *,
        agent_id: str,
        action: str,
        payload: dict[str, Any],
        reason: str,
        expires_at: datetime,
        execution_id: str | None = None,
        step_id: str | None = None,
        attempt: int = 1,
        decision_id: str | None = None,
    ) -> Approval:
        """Ask for an approval of `action` with exactly `payload`, or find the one this step attempt
        already asked for (whatever its state now); only a new one is audited "approval.requested"."""
        approval_id = uuid.uuid4().hex
        key = f"{execution_id}:{step_id or ''}:{attempt}" if execution_id is not None else approval_id
        stored = canonicalise(payload)
        values = {
            "approval_id": approval_id,
            "tenant_id": tenant_id,
            "request_key": key,
            "agent_id": agent_id,
            "action": action,
            "payload": stored,
            "payload_hash": payload_hash(stored),
            "state": PENDING,
            "reason": reason,
            "execution_id": execution_id,
            "step_id": step_id,
            "attempt": attempt,
            "decision_id": decision_id,
            "requested_at": datetime.now(UTC),
            "expires_at": utc(expires_at),
        }
        a = governance_approvals.c
        insert = (pg_insert if self._postgres else sqlite_insert)(governance_approvals).values(**values)
        statement = insert.on_conflict_do_nothing(index_elements=[a.tenant_id, a.request_key]).returning(
            *governance_approvals.c
        )
        async with self._engine.begin() as conn:
            row = (await conn.execute(statement)).first()
            if row is None:
                query = sa.select(governance_approvals).where(a.tenant_id == tenant_id, a.request_key == key)
                return _approval((await conn.execute(query)).one())
            approval = _approval(row)
            extra = {"payload": stored, "reason": reason, "expires_at": approval.expires_at}
            await self._audit.append(conn, tenant_id, "approval.requested", _record(approval, **extra))
        return approval

    async def get(self, tenant_id: str, approval_id: str) -> Approval | None:
        a = governance_approvals.c
        query = sa.select(governance_approvals).where(a.tenant_id == tenant_id, a.approval_id == approval_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _approval(row)

    async def pending(
        self, tenant_id: str, limit: int = 100, *, now: datetime | None = None
    ) -> list[Approval]:
        """The tenant's approvals still open for a decision (not past their expiry), oldest first."""
        a = governance_approvals.c
        query = (
            sa.select(governance_approvals)
            .where(a.tenant_id == tenant_id, a.state == PENDING, a.expires_at > utc(now or datetime.now(UTC)))
            .order_by(a.requested_at, a.approval_id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_approval(row) for row in await conn.execute(query)]

    async def decide(
        self,
        tenant_id: str,
        approval_id: str,
        *,
        approve: bool,
        by: str,
        comment: str = "",
        payload_hash: str | None = None,
        now: datetime | None = None,
    ) -> Approval:
        """Approve or reject a pending approval that has not expired, audited "approval.approved" or
        "approval.rejected" in the same transaction.

        Raises ApprovalNotFound, PayloadMismatch (`payload_hash` given and not the approval's) or
        ApprovalConflict (already decided, expired, or `now` is at or past `expires_at`)."""
        moment = utc(now or datetime.now(UTC))
        state = APPROVED if approve else REJECTED
        a = governance_approvals.c
        guard = [a.approval_id == approval_id, a.tenant_id == tenant_id, a.state == PENDING]
        guard.append(a.expires_at > moment)
        if payload_hash is not None:
            guard.append(a.payload_hash == payload_hash)
        statement = (
            governance_approvals.update()
            .where(*guard)
            .values(state=state, decided_by=by, decided_at=moment, decision_comment=comment)
            .values(notified_at=_nothing_to_tell(moment))
            .returning(*governance_approvals.c)
        )
        async with self._engine.begin() as conn:
            row = (await conn.execute(statement)).first()
            if row is not None:
                approval = _approval(row)
                record = _record(approval, by=by, comment=comment)
                await self._audit.append(conn, tenant_id, f"approval.{state}", record)
                return approval
            query = sa.select(governance_approvals).where(
                a.approval_id == approval_id, a.tenant_id == tenant_id
            )
            current = (await conn.execute(query)).first()
        if current is None:
            raise ApprovalNotFound(tenant_id, approval_id)
        found = _approval(current)
        if payload_hash is not None and found.payload_hash != payload_hash:
            raise PayloadMismatch(approval_id, found.payload_hash, payload_hash)
        raise ApprovalConflict(approval_id, found.effective_state(moment))

    async def expire_due(
        self, now: datetime | None = None, limit: int = 100, *, tenant_id: str | None = None
    ) -> list[Approval]:
        """Move pending approvals whose `expires_at` is at or before `now` to 'expired' (of all tenants,
        or of one), each audited "approval.expired"; returns those this call expired.

        Each one is a compare-and-set in a transaction of its own, so an approval decided in the
        meantime (or expired by another sweeper) is left as it is and not returned."""
        moment = utc(now or datetime.now(UTC))
        a = governance_approvals.c
        due = [a.state == PENDING, a.expires_at <= moment]
        if tenant_id is not None:
            due.append(a.tenant_id == tenant_id)
        query = sa.select(a.approval_id).where(*due).order_by(a.expires_at, a.approval_id).limit(limit)
        async with self._engine.connect() as conn:
            candidates = list((await conn.execute(query)).scalars())
        expired = []
        for approval_id in candidates:
            statement = (
                governance_approvals.update()
                .where(a.approval_id == approval_id, *due)
                .values(state=EXPIRED, decided_at=moment, notified_at=_nothing_to_tell(moment))
                .returning(*governance_approvals.c)
            )
            async with self._engine.begin() as conn:
                row = (await conn.execute(statement)).first()
                if row is None:
                    continue
                approval = _approval(row)
                await self._audit.append(conn, approval.tenant_id, "approval.expired", _record(approval))
            expired.append(approval)
        await self.count_waiting(moment)  # the sweeper calls this every few seconds: keeps the gauge fresh
        return expired

    async def count_waiting(self, now: datetime | None = None) -> int:
        """Approvals of every tenant still open for a decision, also set as `flowbus_approvals_waiting`
        (one range scan of the (state, expires_at) index)."""
        a = governance_approvals.c
        moment = utc(now or datetime.now(UTC))
        query = sa.select(sa.func.count()).where(a.state == PENDING, a.expires_at > moment)
        async with self._engine.connect() as conn:
            waiting = int((await conn.execute(query)).scalar_one())
        metrics.approvals_waiting(waiting)
        return waiting

    async def undelivered(self, limit: int = 100, *, tenant_id: str | None = None) -> list[Approval]:
        """Decided approvals of workflow steps not yet marked notified (of all tenants, or of one),
        oldest decision first: a crash between committing a decision and sending it leaves one here."""
        a = governance_approvals.c
        undelivered = [a.notified_at.is_(None), a.state != PENDING]
        if tenant_id is not None:
            undelivered.append(a.tenant_id == tenant_id)
        query = (
            sa.select(governance_approvals)
            .where(*undelivered)
            .order_by(a.decided_at, a.approval_id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_approval(row) for row in await conn.execute(query)]

    async def mark_notified(self, approval_id: str, now: datetime | None = None) -> bool:
        """Record that the decision was sent; False if it was already marked (or is not decided)."""
        a = governance_approvals.c
        statement = (
            governance_approvals.update()
            .where(a.approval_id == approval_id, a.notified_at.is_(None), a.state != PENDING)
            .values(notified_at=utc(now or datetime.now(UTC)))
            .returning(a.approval_id)
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(statement)).first() is not None
