"""Checks, approvals and the audit log over HTTP.

- POST /v1/governance/check: the decision for an agent and an action (operator)
- GET /v1/approvals (pending), GET /v1/approvals/{id}; POST .../approve and .../reject
  (operator): compare-and-set, so a decision on an approval that was decided or has expired
  is refused with 409 and changes nothing; an approval tied to a workflow step is sent to
  the orchestrator as an approve or reject command
- GET /v1/audit (viewer), GET /v1/audit/verify (viewer): the hash chain checked end to end
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from flowbus_governance.adapters.approvals import (
    Approval,
    ApprovalConflict,
    ApprovalNotFound,
    PayloadMismatch,
)
from flowbus_governance.adapters.audit import AuditEntry
from flowbus_governance.governance import Governance, Where
from flowbus_shared.auth import Principal
from flowbus_shared.http import ApiError, Authenticator

Notify = Callable[[Approval], Awaitable[None]]


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(min_length=1, max_length=200)
    action: str = Field(min_length=1, max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict)
    require_approval: bool = False
    # The workflow step asking (an agent's tool call inside it): an approval it opens is sent
    # to the orchestrator for that step when decided.
    execution_id: str | None = Field(default=None, min_length=1, max_length=200)
    step_id: str | None = Field(default=None, min_length=1, max_length=200)
    attempt: int = Field(default=1, ge=1)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=2000)
    payload_hash: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="the payload you reviewed; refused if it differs"
    )


def as_json(record: Approval | AuditEntry) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(record).items()}


def decision_router(governance: Governance, auth: Authenticator, notify: Notify) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["decisions"])
    viewer, operator = Depends(auth.require("viewer")), Depends(auth.require("operator"))

    @router.post("/governance/check")
    async def check(body: CheckIn, principal: Principal = operator) -> dict[str, Any]:
        result = await governance.check(
            principal.tenant_id,
            body.agent_id,
            body.action,
            body.payload,
            require_approval=body.require_approval,
            where=Where(body.execution_id, body.step_id, body.attempt),
        )
        return result.as_output()

    @router.get("/approvals")
    async def pending(
        limit: int = Query(default=100, ge=1, le=1000), principal: Principal = viewer
    ) -> dict[str, Any]:
        return {
            "data": [as_json(a) for a in await governance.approvals.pending(principal.tenant_id, limit=limit)]
        }

    @router.get("/approvals/{approval_id}")
    async def one(approval_id: str, principal: Principal = viewer) -> dict[str, Any]:
        approval = await governance.approvals.get(principal.tenant_id, approval_id)
        if approval is None:
            raise ApiError(404, f"no approval {approval_id!r}")
        return as_json(approval)

    async def decide(
        approval_id: str, body: DecisionIn, principal: Principal, approve: bool
    ) -> dict[str, Any]:
        try:
            approval = await governance.approvals.decide(
                principal.tenant_id,
                approval_id,
                approve=approve,
                by=f"key:{principal.key_id}",
                comment=body.comment,
                payload_hash=body.payload_hash,
            )
        except ApprovalNotFound:
            raise ApiError(404, f"no approval {approval_id!r}") from None
        except PayloadMismatch:
            raise ApiError(
                409, "the payload changed since you reviewed it: look again", code="payload_mismatch"
            ) from None
        except ApprovalConflict as conflict:
            raise ApiError(
                409, f"the approval is {conflict.state}: nothing changed", code="approval_conflict"
            ) from None
        await notify(approval)
        return as_json(approval)

    @router.post("/approvals/{approval_id}/approve")
    async def approve(approval_id: str, body: DecisionIn, principal: Principal = operator) -> dict[str, Any]:
        return await decide(approval_id, body, principal, True)

    @router.post("/approvals/{approval_id}/reject")
    async def reject(approval_id: str, body: DecisionIn, principal: Principal = operator) -> dict[str, Any]:
        return await decide(approval_id, body, principal, False)

    @router.get("/audit")
    async def audit(
        kind: str | None = None,
        agent_id: str | None = None,
        since: datetime | None = None,
        limit: int = Query(default=100, ge=1, le=1000),
        principal: Principal = viewer,
    ) -> dict[str, Any]:
        entries = await governance.audit.query(
            principal.tenant_id, kind=kind, agent_id=agent_id, since=since, limit=limit
        )
        return {"data": [as_json(e) for e in entries]}

    @router.get("/audit/verify")
    async def verify(principal: Principal = viewer) -> dict[str, Any]:
        return asdict(await governance.audit.verify(principal.tenant_id))

    return router
