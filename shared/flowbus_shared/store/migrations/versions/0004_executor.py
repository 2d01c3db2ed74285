"""executor: encrypted connections, built-in tasks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("tenant_id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("key_id", sa.String(100), nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
    )
    op.create_table(
        "tasks",
        sa.Column("task_id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(200), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("assignee", sa.String(200)),
        sa.Column("due_date", sa.String(40)),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("idempotency_key", sa.String(600), nullable=False, unique=True),
        sa.Column("created_at", Moment, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tasks")
    op.drop_table("connections")
