"""tenant workflows: definitions and the trigger index belong to a tenant ("*": built-in, seen by
every tenant); executions get indexes for per-tenant listing

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

The primary keys gain tenant_id, so each table is rebuilt (create, copy, drop, rename): the
same steps on PostgreSQL and SQLite. Existing rows become built-ins.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Moment = sa.DateTime(timezone=True)
BUILTIN = "*"

_EXECUTION_INDEXES = {
    "ix_executions_tenant_started": ["tenant_id", "started_at", "execution_id"],
    "ix_executions_tenant_workflow_started": ["tenant_id", "workflow_id", "started_at"],
    "ix_executions_tenant_status_started": ["tenant_id", "status", "started_at"],
}


def _definitions(name: str, *, tenant: bool, pk_name: str) -> None:
    columns = [sa.Column("tenant_id", sa.String(200), nullable=False)] if tenant else []
    key = ["tenant_id", "workflow_id", "version"] if tenant else ["workflow_id", "version"]
    op.create_table(
        name,
        *columns,
        sa.Column("workflow_id", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("definition", Json, nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint(*key, name=pk_name),
    )


def _triggers(name: str, *, tenant: bool, pk_name: str) -> None:
    columns = [sa.Column("tenant_id", sa.String(200), nullable=False)] if tenant else []
    key = ["tenant_id", "event_type", "workflow_id"] if tenant else ["event_type", "workflow_id"]
    op.create_table(
        name,
        *columns,
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("workflow_id", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=pk_name),
    )


def _replace(table: str, temporary: str) -> None:
    op.drop_table(table)
    op.rename_table(temporary, table)


def upgrade() -> None:
    _definitions("workflow_definitions_0013", tenant=True, pk_name="pk_workflow_definitions")
    op.execute(
        "INSERT INTO workflow_definitions_0013 (tenant_id, workflow_id, version, definition, created_at) "
        f"SELECT '{BUILTIN}', workflow_id, version, definition, created_at FROM workflow_definitions"
    )
    _replace("workflow_definitions", "workflow_definitions_0013")
    _triggers("workflow_triggers_0013", tenant=True, pk_name="pk_workflow_triggers")
    op.execute(
        "INSERT INTO workflow_triggers_0013 (tenant_id, event_type, workflow_id) "
        f"SELECT '{BUILTIN}', event_type, workflow_id FROM workflow_triggers"
    )
    _replace("workflow_triggers", "workflow_triggers_0013")
    for name, columns in _EXECUTION_INDEXES.items():
        op.create_index(name, "executions", columns)


def downgrade() -> None:
    for name in _EXECUTION_INDEXES:
        op.drop_index(name, table_name="executions")
    # Only the built-ins fit the old keys: tenants' own workflows are dropped.
    _triggers("workflow_triggers_0002", tenant=False, pk_name="workflow_triggers_pkey")
    op.execute(
        "INSERT INTO workflow_triggers_0002 (event_type, workflow_id) "
        f"SELECT event_type, workflow_id FROM workflow_triggers WHERE tenant_id = '{BUILTIN}'"
    )
    _replace("workflow_triggers", "workflow_triggers_0002")
    _definitions("workflow_definitions_0002", tenant=False, pk_name="workflow_definitions_pkey")
    op.execute(
        "INSERT INTO workflow_definitions_0002 (workflow_id, version, definition, created_at) "
        "SELECT workflow_id, version, definition, created_at FROM workflow_definitions "
        f"WHERE tenant_id = '{BUILTIN}'"
    )
    _replace("workflow_definitions", "workflow_definitions_0002")
