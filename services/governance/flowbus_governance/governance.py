"""The governance use cases: decide whether an agent may take an action (recording the decision
and, when a human must agree, a durable approval bound to the exact payload), and let outcomes
and feedback move an agent's confidence and maturity."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from flowbus_governance.adapters.agents import Agent, AgentRepository
from flowbus_governance.adapters.approvals import Approval, ApprovalStore
from flowbus_governance.adapters.audit import AuditLog
from flowbus_governance.domain.agents import AgentStatus, Impact, apply_outcome
from flowbus_governance.domain.decide import AgentView, Decision, decide
from flowbus_governance.domain.policy import Policy, classify
from flowbus_governance.tracing import check_span, record_decision
from flowbus_shared import metrics
from flowbus_shared.schemas import GovernanceDecision
from flowbus_shared.schemas.governance import Maturity


@dataclass(frozen=True)
class CheckResult:
    decision_id: str
    decision: Decision
    approval: Approval | None = None

    def as_output(self) -> dict[str, Any]:
        out: dict[str, Any] = {"decision_id": self.decision_id, **asdict(self.decision)}
        if self.approval is not None:
            out["approval_id"] = self.approval.approval_id
            out["payload_hash"] = self.approval.payload_hash
            out["expires_at"] = self.approval.expires_at.isoformat()
            out["expires_in_seconds"] = max(
                0.0, (self.approval.expires_at - datetime.now(UTC)).total_seconds()
            )
        return out


@dataclass(frozen=True)
class Where:
    """The workflow step a check or an outcome belongs to, when it comes from one."""

    execution_id: str | None = None
    step_id: str | None = None
    attempt: int = 1


class Governance:
    def __init__(
        self,
        agents: AgentRepository,
        approvals: ApprovalStore,
        audit: AuditLog,
        policy: Policy,
        *,
        approval_ttl_seconds: float,
        publish: Callable[[GovernanceDecision], Awaitable[None]] | None = None,
    ) -> None:
        """`publish` announces every verdict (the service sends them to `governance-decisions`)."""
        self.agents = agents
        self._publish = publish
        self.approvals = approvals
        self.audit = audit
        self.policy = policy
        self._ttl = timedelta(seconds=approval_ttl_seconds)

    async def check(
        self,
        tenant_id: str,
        agent_id: str,
        action: str,
        payload: dict[str, Any] | None = None,
        *,
        require_approval: bool = False,
        where: Where | None = None,
        decision_id: str | None = None,
    ) -> CheckResult:
        """Decide, record the decision, and open an approval when one is required."""
        where = where or Where()
        with check_span(tenant_id, agent_id, action, where.execution_id) as span:
            agent = await self.agents.get(tenant_id, agent_id)
            view = (
                None
                if agent is None
                else AgentView(agent.agent_id, cast(AgentStatus, agent.status), agent.confidence)
            )
            decision = decide(self.policy, view, action, require_approval=require_approval)
            decision_id = decision_id or f"dec-{uuid.uuid4().hex}"
            record_decision(span, decision, decision_id)
            await self.audit.record(
                tenant_id,
                "decision",
                {
                    "decision_id": decision_id,
                    "agent_id": agent_id,
                    **asdict(decision),
                    "execution_id": where.execution_id,
                    "step_id": where.step_id,
                    "attempt": where.attempt,
                },
            )
            approval = None
            if decision.verdict == "approval_required":
                approval = await self.approvals.request(
                    tenant_id,
                    agent_id=agent_id,
                    action=action,
                    payload=payload or {},
                    reason=decision.reason,
                    expires_at=datetime.now(UTC) + self._ttl,
                    execution_id=where.execution_id,
                    step_id=where.step_id,
                    attempt=where.attempt,
                    decision_id=decision_id,
                )
            if self._publish is not None:
                await self._publish(
                    GovernanceDecision(
                        message_id=decision_id,  # a redelivered check announces the same decision
                        tenant_id=tenant_id,
                        execution_id=where.execution_id,
                        step_id=where.step_id,
                        agent_id=agent_id,
                        action=action,
                        verdict=decision.verdict,
                        reason=decision.reason[:2000],
                        action_complexity=decision.complexity,
                        agent_maturity=cast(Maturity | None, decision.agent_status),
                        policy_version=decision.policy_version,
                        payload_hash=approval.payload_hash if approval else None,
                    )
                )
            named = action in self.policy.actions  # pattern-matched names are open-ended: not a label
            metrics.governance_verdict(
                decision.verdict, action if named else "other", classify(self.policy, action)
            )
            return CheckResult(decision_id, decision, approval)

    async def outcome(
        self, tenant_id: str, agent_id: str, *, success: bool, impact: Impact, cause: str
    ) -> tuple[Agent, Agent] | None:
        """Move the agent's confidence by an outcome (and its maturity with it, unless paused or
        deprecated); None when there is no such agent."""

        def compute(status: str, confidence: float) -> tuple[str, float]:
            change = apply_outcome(cast(AgentStatus, status), confidence, success=success, impact=impact)
            return change.new_status, change.new_confidence

        return await self.agents.change_confidence(tenant_id, agent_id, compute, cause=cause)
