"""The pure decision domain of governance: agent maturity, the action policy and the verdict.

No I/O here except reading a policy file; the service persists agents and records decisions.
"""

from __future__ import annotations

from flowbus_governance.domain.agents import (
    MATURITY_LEVELS,
    NEW_AGENT_CONFIDENCE,
    NEW_AGENT_STATUS,
    AgentStatus,
    ConfidenceChange,
    Impact,
    apply_outcome,
    check_confidence,
    confidence_after,
    maturity_for,
    maturity_rank,
    status_after,
)
from flowbus_governance.domain.decide import REQUIRED_MATURITY, AgentView, Decision, Verdict, decide
from flowbus_governance.domain.policy import Policy, PolicyError, classify, default_policy, load_policy

__all__ = [
    "MATURITY_LEVELS",
    "NEW_AGENT_CONFIDENCE",
    "NEW_AGENT_STATUS",
    "REQUIRED_MATURITY",
    "AgentStatus",
    "AgentView",
    "ConfidenceChange",
    "Decision",
    "Impact",
    "Policy",
    "PolicyError",
    "Verdict",
    "apply_outcome",
    "check_confidence",
    "classify",
    "confidence_after",
    "decide",
    "default_policy",
    "load_policy",
    "maturity_for",
    "maturity_rank",
    "status_after",
]
