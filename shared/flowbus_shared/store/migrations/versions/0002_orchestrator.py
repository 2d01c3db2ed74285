"""orchestrator: versioned workflow definitions, trigger index, executions projection

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "workflow_definitions",
        sa.Column("workflow_id", sa.String(100), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("definition", Json, nullable=False),
        sa.Column("created_at", Moment, nullable=False),
    )
    op.create_table(
        "workflow_triggers",
        sa.Column("event_type", sa.String(200), primary_key=True),
        sa.Column("workflow_id", sa.String(100), primary_key=True),
    )
    op.create_table(
        "executions",
        sa.Column("execution_id", sa.String(200), primary_key=True),
        sa.Column("workflow_id", sa.String(100), nullable=False),
        sa.Column("workflow_version", sa.Integer, nullable=False),
        sa.Column("tenant_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("parent_execution_id", sa.String(200)),
        sa.Column("fork_step_id", sa.String(200)),
        sa.Column("started_at", Moment),
        sa.Column("finished_at", Moment),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_executions_workflow_status", "executions", ["workflow_id", "status"])
    op.create_index("ix_executions_parent", "executions", ["parent_execution_id"])


def downgrade() -> None:
    op.drop_index("ix_executions_parent", table_name="executions")
    op.drop_index("ix_executions_workflow_status", table_name="executions")
    op.drop_table("executions")
    op.drop_table("workflow_triggers")
    op.drop_table("workflow_definitions")
