"""The executor's project tables: module-level mirrors of migration 0010, which owns the schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

Moment = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(JSONB(), "postgresql")
Money = sa.Numeric(18, 2)
Percent = sa.Numeric(6, 2)

metadata = sa.MetaData()

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("project_id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=False),
    sa.Column("budget", Money),
    sa.Column("currency", sa.String(3)),
    sa.Column("roles", Json, nullable=False),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("idempotency_key", sa.String(600), nullable=False),
    sa.Column("created_at", Moment, nullable=False),
    sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_projects_key"),
)

project_milestones = sa.Table(
    "project_milestones",
    metadata,
    sa.Column("milestone_id", sa.String(64), primary_key=True),
    sa.Column("project_id", sa.String(64), sa.ForeignKey("projects.project_id"), nullable=False),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("amount", Money),
    sa.Column("deliverables", Json, nullable=False),
    sa.Column("completed", sa.Boolean, nullable=False),
    sa.Column("completed_on", sa.Date),
    sa.Column("percent_complete", Percent),
    sa.Column("updated_at", Moment, nullable=False),
    sa.UniqueConstraint("project_id", "name", name="uq_project_milestones_name"),
)

project_status_snapshots = sa.Table(
    "project_status_snapshots",
    metadata,
    sa.Column("snapshot_id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    sa.Column("project_id", sa.String(64), sa.ForeignKey("projects.project_id"), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("progress_percent", Percent, nullable=False),
    sa.Column("expected_percent", Percent, nullable=False),
    sa.Column("schedule_variance", Percent, nullable=False),
    sa.Column("risk", sa.String(10), nullable=False),
    sa.Column("status", Json, nullable=False),
    sa.Column("idempotency_key", sa.String(600), nullable=False),
    sa.Column("recorded_at", Moment, nullable=False),
    sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_project_status_snapshots_key"),
)

contracts = sa.Table(
    "contracts",
    metadata,
    sa.Column("contract_id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("number", sa.String(40), nullable=False),
    sa.Column("deal_id", sa.String(200), nullable=False),
    sa.Column("deal_name", sa.String(300), nullable=False),
    sa.Column("customer", sa.String(300), nullable=False),
    sa.Column("value", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("term_months", sa.Integer, nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=False),
    sa.Column("project_id", sa.String(64), sa.ForeignKey("projects.project_id"), nullable=False),
    sa.Column("line_items", Json, nullable=False),
    sa.Column("status", sa.String(40), nullable=False),
    sa.Column("created_at", Moment, nullable=False),
    sa.UniqueConstraint("tenant_id", "seq", name="uq_contracts_seq"),
    sa.UniqueConstraint("tenant_id", "deal_id", name="uq_contracts_deal"),
)

staffing_assignments = sa.Table(
    "staffing_assignments",
    metadata,
    sa.Column("assignment_id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    sa.Column("project_id", sa.String(64)),
    sa.Column("role", sa.String(200), nullable=False),
    sa.Column("person_id", sa.String(200), nullable=False),
    sa.Column("person_name", sa.String(300), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("hours", sa.Numeric(10, 2), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("idempotency_key", sa.String(600), nullable=False),
    sa.Column("created_at", Moment, nullable=False),
    sa.UniqueConstraint(
        "tenant_id", "idempotency_key", "role", "person_id", name="uq_staffing_assignments_key"
    ),
)
