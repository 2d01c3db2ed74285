"""agents: the executor's agent runs (resumable across approvals) and background agent schedules

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "agent_runs",
        sa.Column("tenant_id", sa.String(200), primary_key=True),
        sa.Column("execution_id", sa.String(200), primary_key=True),
        sa.Column("step_id", sa.String(200), primary_key=True),
        sa.Column("agent_id", sa.String(200), nullable=False),
        sa.Column("messages", Json, nullable=False),
        # The tool call waiting for a human's approval, with its approval_id.
        sa.Column("pending", Json),
        sa.Column("steps_used", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Numeric(18, 8), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),  # running | waiting_approval | done
        sa.Column("updated_at", Moment, nullable=False),
    )
    op.create_table(
        "agent_schedules",
        sa.Column("schedule_id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(200), nullable=False),
        sa.Column("agent_id", sa.String(200), nullable=False),
        sa.Column("config", Json, nullable=False),
        sa.Column("interval_seconds", sa.Float, nullable=False),
        sa.Column("next_run_at", Moment, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("runs", sa.Integer, nullable=False),
        sa.Column("last_run_at", Moment),
        sa.Column("last_status", sa.String(200)),
        # The round waiting for an approval: the next rounds resume it instead of starting afresh.
        sa.Column("pending_execution_id", sa.String(200)),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.UniqueConstraint("tenant_id", "agent_id", name="uq_agent_schedules_agent"),
    )
    op.create_index("ix_agent_schedules_due", "agent_schedules", ["active", "next_run_at"])


def downgrade() -> None:
    op.drop_index("ix_agent_schedules_due", table_name="agent_schedules")
    op.drop_table("agent_schedules")
    op.drop_table("agent_runs")
