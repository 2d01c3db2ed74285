"""The orchestrator's own tables (created by migration 0002, made tenant-scoped by 0013)."""

from __future__ import annotations

import sqlalchemy as sa

from flowbus_shared.store.tables import Json

metadata = sa.MetaData()
Moment = sa.DateTime(timezone=True)

# The owner of the workflows every tenant sees (the predefined ones and those registered by
# flowbus itself); no API key can act for it, since keys need a tenant and the API refuses "*".
BUILTIN_TENANT = "*"

workflow_definitions = sa.Table(
    "workflow_definitions",
    metadata,
    sa.Column("tenant_id", sa.String(200), primary_key=True),
    sa.Column("workflow_id", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("definition", Json, nullable=False),
    sa.Column("created_at", Moment, nullable=False),
)

workflow_triggers = sa.Table(
    "workflow_triggers",
    metadata,
    sa.Column("tenant_id", sa.String(200), primary_key=True),
    sa.Column("event_type", sa.String(200), primary_key=True),
    sa.Column("workflow_id", sa.String(100), primary_key=True),
)

executions = sa.Table(
    "executions",
    metadata,
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
