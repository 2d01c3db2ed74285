"""Persistence of the governance service: the hash-chained audit log, agents and approvals."""

from __future__ import annotations

from flowbus_governance.adapters.agents import (
    Agent,
    AgentError,
    AgentExists,
    AgentNotFound,
    AgentRepository,
    ConfidenceRule,
)
from flowbus_governance.adapters.approvals import (
    APPROVED,
    EXPIRED,
    PENDING,
    REJECTED,
    Approval,
    ApprovalConflict,
    ApprovalError,
    ApprovalNotFound,
    ApprovalStore,
    PayloadMismatch,
    payload_hash,
)
from flowbus_governance.adapters.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditLog,
    AuditVerification,
    canonical_json,
    canonicalise,
)

__all__ = [
    "APPROVED",
    "EXPIRED",
    "GENESIS_HASH",
    "PENDING",
    "REJECTED",
    "Agent",
    "AgentError",
    "AgentExists",
    "AgentNotFound",
    "AgentRepository",
    "Approval",
    "ApprovalConflict",
    "ApprovalError",
    "ApprovalNotFound",
    "ApprovalStore",
    "AuditEntry",
    "AuditLog",
    "AuditVerification",
    "ConfidenceRule",
    "PayloadMismatch",
    "canonical_json",
    "canonicalise",
    "payload_hash",
]
