"""The permission decision: may this agent take this action now?

Pure and on the hot path of every governance check. The rules, in order:

1. unknown agent -> deny; paused or deprecated agent -> deny;
2. action not classified by the policy -> deny (fail closed);
3. agent maturity below the one the action's complexity requires -> deny;
4. supervised agent at complexity >= 3, or the caller asked for approval -> approval_required;
5. otherwise allow.

Any unexpected error while evaluating is a deny ("evaluation error: <type>"), never an allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from flowbus_governance.domain.agents import MATURITY_LEVELS, AgentStatus
from flowbus_governance.domain.policy import Policy, classify

Verdict = Literal["allow", "deny", "approval_required"]

REQUIRED_MATURITY: Final[dict[int, AgentStatus]] = {
    1: "student",
    2: "intern",
    3: "supervised",
    4: "autonomous",
}

_RANK: Final[dict[str, int]] = {level: rank for rank, level in enumerate(MATURITY_LEVELS)}
_REQUIRED_RANK: Final[dict[int, int]] = {c: _RANK[level] for c, level in REQUIRED_MATURITY.items()}
_HELD: Final[frozenset[str]] = frozenset({"paused", "deprecated"})
# A supervised agent may act at this complexity and above only with a human's approval.
SUPERVISED_APPROVAL_FROM: Final = 3


@dataclass(frozen=True, slots=True)
class AgentView:
    """What a decision needs to know about an agent."""

    agent_id: str
    status: AgentStatus
    confidence: float


@dataclass(frozen=True, slots=True)
class Decision:
    """A verdict with its reason and the facts it was based on (for the audit log)."""

    verdict: Verdict
    reason: str
    action: str
    complexity: int | None
    required_maturity: str | None
    policy_version: str
    agent_status: str | None
    agent_confidence: float | None

    @property
    def allowed(self) -> bool:
        return self.verdict == "allow"


def decide(
    policy: Policy, agent: AgentView | None, action: str, *, require_approval: bool = False
) -> Decision:
    """Decide whether ``agent`` may take ``action`` under ``policy``; never raises."""
    try:
        return _decide(policy, agent, action, require_approval)
    except Exception as error:  # noqa: BLE001 - fail closed on anything unexpected
        return _evaluation_error(policy, agent, action, error)


def _decide(policy: Policy, agent: AgentView | None, action: str, require_approval: bool) -> Decision:
    version = policy.version
    if agent is None:
        return Decision("deny", "unknown agent", action, None, None, version, None, None)
    status = agent.status
    confidence = agent.confidence
    if status in _HELD:
        return Decision(
            "deny", f"agent {agent.agent_id} is {status}", action, None, None, version, status, confidence
        )

    complexity = classify(policy, action)
    if complexity is None:
        reason = f"action {action!r} is not in policy {version}"
        return Decision("deny", reason, action, None, None, version, status, confidence)

    required = REQUIRED_MATURITY[complexity]
    if _RANK[status] < _REQUIRED_RANK[complexity]:
        reason = (
            f"action {action!r} (complexity {complexity}) requires maturity {required} or above; "
            f"agent {agent.agent_id} is {status}"
        )
        return Decision("deny", reason, action, complexity, required, version, status, confidence)

    if status == "supervised" and complexity >= SUPERVISED_APPROVAL_FROM:
        reason = (
            f"action {action!r} (complexity {complexity}) by supervised agent {agent.agent_id} "
            "requires human approval"
        )
        return Decision(
            "approval_required", reason, action, complexity, required, version, status, confidence
        )

    if require_approval:
        reason = f"the caller requires approval for action {action!r} (complexity {complexity})"
        return Decision(
            "approval_required", reason, action, complexity, required, version, status, confidence
        )

    reason = f"action {action!r} (complexity {complexity}, requires {required}) allowed for {status} agent"
    return Decision("allow", reason, action, complexity, required, version, status, confidence)


def _evaluation_error(policy: object, agent: object, action: object, error: Exception) -> Decision:
    """The deny for an unexpected error; reads every input defensively so that it cannot raise."""
    version = _safe_attr(policy, "version")
    status = _safe_attr(agent, "status")
    confidence = _safe_attr(agent, "confidence")
    return Decision(
        verdict="deny",
        reason=f"evaluation error: {type(error).__name__}",
        action=action if isinstance(action, str) else f"<{type(action).__name__}>",
        complexity=None,
        required_maturity=None,
        policy_version=version if isinstance(version, str) else "",
        agent_status=status if isinstance(status, str) else None,
        agent_confidence=float(confidence) if isinstance(confidence, float | int) else None,
    )


def _safe_attr(obj: object, name: str) -> object:
    try:
        return getattr(obj, name, None)
    except Exception:  # noqa: BLE001 - a broken input must not break the deny
        return None
