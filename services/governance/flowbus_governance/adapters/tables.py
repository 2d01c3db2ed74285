"""Table definitions of the governance store; migration 0007 creates exactly these.

`audit_records` is the append-only, hash-chained log (one chain per tenant) and `audit_heads` its
per-tenant head row: every append updates the head in the same transaction, so the head's row lock
serialises one tenant's appends and a removed tail is detectable. `governance_agents` holds each
agent's maturity (status, confidence); `governance_approvals` the approvals bound to the exact payload
they approve, unique per (tenant, request key) so a redelivered request finds the approval it made;
`notified_at` is null while a decided approval of a workflow step still has to be sent to the orchestrator.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

# JSONB on PostgreSQL, JSON text on SQLite.
Json = sa.JSON().with_variant(JSONB(), "postgresql")
Moment = sa.DateTime(timezone=True)

audit_records = sa.Table(
    "audit_records",
    metadata,
    sa.Column("tenant_id", sa.String(200), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(100), nullable=False),
    sa.Column("agent_id", sa.String(200)),  # record["agent_id"], copied for portable filtering
    sa.Column("record", Json, nullable=False),
    sa.Column("recorded_at", Moment, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_records_tenant_agent", "tenant_id", "agent_id"),
    sa.Index("ix_audit_records_tenant_kind", "tenant_id", "kind"),
)

audit_heads = sa.Table(
    "audit_heads",
    metadata,
    sa.Column("tenant_id", sa.String(200), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

governance_agents = sa.Table(
    "governance_agents",
    metadata,
    sa.Column("tenant_id", sa.String(200), primary_key=True),
    sa.Column("agent_id", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("category", sa.String(100), nullable=False),
    sa.Column("agent_type", sa.String(100), nullable=False),
    sa.Column("status", sa.String(40), nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("capabilities", Json, nullable=False),  # a list of strings
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("created_at", Moment, nullable=False),
    sa.Column("updated_at", Moment, nullable=False),
)

governance_outcome_causes = sa.Table(
    "governance_outcome_causes",
    metadata,
    sa.Column("tenant_id", sa.String(200), primary_key=True),
    sa.Column("agent_id", sa.String(200), primary_key=True),
    sa.Column("cause", sa.String(400), primary_key=True),
    sa.Column("recorded_at", Moment, nullable=False),
)
governance_approvals = sa.Table(
    "governance_approvals",
    metadata,
    sa.Column("approval_id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    # "<execution>:<step>:<attempt>" for a step's request, else the approval id (never deduplicated)
    sa.Column("request_key", sa.String(500), nullable=False),
    sa.Column("agent_id", sa.String(200), nullable=False),
    sa.Column("action", sa.String(200), nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("payload_hash", sa.String(64), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),  # pending | approved | rejected | expired
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("execution_id", sa.String(200)),
    sa.Column("step_id", sa.String(200)),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("decision_id", sa.String(200)),
    sa.Column("requested_at", Moment, nullable=False),
    sa.Column("expires_at", Moment, nullable=False),
    sa.Column("decided_by", sa.String(200)),
    sa.Column("decided_at", Moment),
    sa.Column("decision_comment", sa.Text),
    # when the decision reached the orchestrator; set with the decision when there is no step to tell
    sa.Column("notified_at", Moment),
    sa.UniqueConstraint("tenant_id", "request_key", name="uq_governance_approvals_request"),
    sa.Index("ix_governance_approvals_state_expires", "state", "expires_at"),
    sa.Index("ix_governance_approvals_tenant_state", "tenant_id", "state"),
    sa.Index("ix_governance_approvals_notified", "notified_at", "state"),
)
