"""Agents: register, read, update, change status (admin, recorded), and feedback.

Feedback moves confidence like an outcome: a correction by an admin is high impact, any
other reviewer's low impact (the monolith's rule, with roles for its "trusted reviewer")."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from flowbus_governance.adapters.agents import Agent, AgentExists
from flowbus_governance.domain.agents import Impact
from flowbus_governance.governance import Governance
from flowbus_shared.auth import Principal
from flowbus_shared.http import ApiError, Authenticator

AGENT_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$"


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(pattern=AGENT_ID)
    name: str = Field(default="", max_length=200)
    category: str = Field(default="", max_length=100)
    agent_type: str = Field(default="", max_length=100)
    capabilities: list[str] = Field(default_factory=list, max_length=200)
    owner: str = Field(default="", max_length=200)


class AgentChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=100)
    agent_type: str | None = Field(default=None, max_length=100)
    capabilities: list[str] | None = Field(default=None, max_length=200)
    owner: str | None = Field(default=None, max_length=200)


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["student", "intern", "supervised", "autonomous", "paused", "deprecated"]
    reason: str = Field(min_length=1, max_length=2000)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feedback_id: str = Field(min_length=1, max_length=200, description="yours; the same id counts once")
    success: bool
    comment: str = Field(default="", max_length=2000)


def agent_out(agent: Agent) -> dict[str, Any]:
    return {
        "agent_id": agent.agent_id,
        "name": agent.name,
        "category": agent.category,
        "agent_type": agent.agent_type,
        "status": agent.status,
        "confidence": agent.confidence,
        "capabilities": list(agent.capabilities),
        "owner": agent.owner,
        "created_at": agent.created_at.isoformat(),
        "updated_at": agent.updated_at.isoformat(),
    }


def agent_router(governance: Governance, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/v1/agents", tags=["agents"])
    viewer, operator, admin = (Depends(auth.require(r)) for r in ("viewer", "operator", "admin"))
    agents = governance.agents

    async def existing(tenant_id: str, agent_id: str) -> Agent:
        agent = await agents.get(tenant_id, agent_id)
        if agent is None:
            raise ApiError(404, f"no agent {agent_id!r}")
        return agent

    @router.post("", status_code=201)
    async def register(body: AgentIn, principal: Principal = admin) -> dict[str, Any]:
        try:
            agent = await agents.register(
                principal.tenant_id,
                body.agent_id,
                name=body.name,
                category=body.category,
                agent_type=body.agent_type,
                capabilities=body.capabilities,
                owner=body.owner,
            )
        except AgentExists:
            raise ApiError(409, f"agent {body.agent_id!r} exists already") from None
        return agent_out(agent)

    @router.get("")
    async def list_agents(principal: Principal = viewer) -> dict[str, Any]:
        return {"data": [agent_out(a) for a in await agents.list(principal.tenant_id)]}

    @router.get("/{agent_id}")
    async def get_agent(agent_id: str, principal: Principal = viewer) -> dict[str, Any]:
        return agent_out(await existing(principal.tenant_id, agent_id))

    @router.patch("/{agent_id}")
    async def update_agent(agent_id: str, body: AgentChange, principal: Principal = admin) -> dict[str, Any]:
        await existing(principal.tenant_id, agent_id)
        changes = body.model_dump(exclude_none=True)
        if not changes:
            raise ApiError(422, "nothing to change")
        return agent_out(await agents.update(principal.tenant_id, agent_id, **changes))

    @router.post("/{agent_id}/status")
    async def set_status(agent_id: str, body: StatusIn, principal: Principal = admin) -> dict[str, Any]:
        await existing(principal.tenant_id, agent_id)
        agent = await agents.set_status(
            principal.tenant_id, agent_id, body.status, by=f"key:{principal.key_id}", reason=body.reason
        )
        return agent_out(agent)

    @router.post("/{agent_id}/feedback")
    async def feedback(agent_id: str, body: FeedbackIn, principal: Principal = operator) -> dict[str, Any]:
        impact: Impact = "high" if principal.role == "admin" else "low"
        changed = await governance.outcome(
            principal.tenant_id,
            agent_id,
            success=body.success,
            impact=impact,
            cause=f"feedback:{body.feedback_id}",
        )
        if changed is None:
            raise ApiError(404, f"no agent {agent_id!r}")
        before, after = changed
        return {"impact": impact, "before": agent_out(before), "after": agent_out(after)}

    return router
