"""governance: hash-chained audit log (records and per-tenant heads), agents, approvals

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("tenant_id", sa.String(200), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("agent_id", sa.String(200)),
        sa.Column("record", Json, nullable=False),
        sa.Column("recorded_at", Moment, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_records_tenant_agent", "audit_records", ["tenant_id", "agent_id"])
    op.create_index("ix_audit_records_tenant_kind", "audit_records", ["tenant_id", "kind"])
    op.create_table(
        "audit_heads",
        sa.Column("tenant_id", sa.String(200), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "governance_agents",
        sa.Column("tenant_id", sa.String(200), primary_key=True),
        sa.Column("agent_id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("agent_type", sa.String(100), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("capabilities", Json, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
    )
    op.create_table(  # the causes already counted: an outcome or feedback moves confidence once
        "governance_outcome_causes",
        sa.Column("tenant_id", sa.String(200), primary_key=True),
        sa.Column("agent_id", sa.String(200), primary_key=True),
        sa.Column("cause", sa.String(400), primary_key=True),
        sa.Column("recorded_at", Moment, nullable=False),
    )
    op.create_table(
        "governance_approvals",
        sa.Column("approval_id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(200), nullable=False),
        sa.Column("request_key", sa.String(500), nullable=False),
        sa.Column("agent_id", sa.String(200), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
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
        sa.Column("notified_at", Moment),
        sa.UniqueConstraint("tenant_id", "request_key", name="uq_governance_approvals_request"),
    )
    op.create_index("ix_governance_approvals_state_expires", "governance_approvals", ["state", "expires_at"])
    op.create_index("ix_governance_approvals_tenant_state", "governance_approvals", ["tenant_id", "state"])
    op.create_index("ix_governance_approvals_notified", "governance_approvals", ["notified_at", "state"])


def downgrade() -> None:
    op.drop_index("ix_governance_approvals_notified", table_name="governance_approvals")
    op.drop_index("ix_governance_approvals_tenant_state", table_name="governance_approvals")
    op.drop_index("ix_governance_approvals_state_expires", table_name="governance_approvals")
    op.drop_table("governance_approvals")
    op.drop_table("governance_agents")
    op.drop_table("governance_outcome_causes")
    op.drop_table("audit_heads")
    op.drop_index("ix_audit_records_tenant_kind", table_name="audit_records")
    op.drop_index("ix_audit_records_tenant_agent", table_name="audit_records")
    op.drop_table("audit_records")
