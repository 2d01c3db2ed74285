"""llm gateway: usage ledger, budgets and open reservations

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)
Money = sa.Numeric(18, 8)


def upgrade() -> None:
    op.create_table(
        "llm_usage",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("tenant_id", sa.String(200), nullable=False),
        sa.Column("execution_id", sa.String(200)),
        sa.Column("step_id", sa.String(200)),
        sa.Column("agent_id", sa.String(200)),
        sa.Column("request_id", sa.String(200), nullable=False, unique=True),
        sa.Column("provider", sa.String(100), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("cached_input_tokens", sa.Integer, nullable=False),
        sa.Column("cache_write_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("reasoning_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", Money, nullable=False),
        sa.Column("complexity", sa.String(40)),
        sa.Column("recorded_at", Moment, nullable=False),
    )
    op.create_index("ix_llm_usage_tenant_recorded", "llm_usage", ["tenant_id", "recorded_at"])
    op.create_index("ix_llm_usage_tenant_execution", "llm_usage", ["tenant_id", "execution_id"])
    op.create_table(
        "llm_budgets",
        sa.Column("tenant_id", sa.String(200), primary_key=True),
        sa.Column("agent_id", sa.String(200), primary_key=True),  # '' for the tenant-wide budget
        sa.Column("limit_usd", Money, nullable=False),
        sa.Column("spent_usd", Money, nullable=False),
        sa.Column("reserved_usd", Money, nullable=False),
        sa.Column("period", sa.String(10), nullable=False),  # 'total' | 'month'
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
    )
    op.create_table(
        "llm_reservations",
        sa.Column("request_id", sa.String(200), primary_key=True),
        sa.Column("tenant_id", sa.String(200), nullable=False),
        sa.Column("agent_id", sa.String(200)),
        sa.Column("estimate_usd", Money, nullable=False),
        sa.Column("tenant_charged", sa.Boolean, nullable=False),  # the budgets the estimate was added to
        sa.Column("agent_charged", sa.Boolean, nullable=False),
        sa.Column("created_at", Moment, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("llm_reservations")
    op.drop_table("llm_budgets")
    op.drop_index("ix_llm_usage_tenant_execution", table_name="llm_usage")
    op.drop_index("ix_llm_usage_tenant_recorded", table_name="llm_usage")
    op.drop_table("llm_usage")
