"""finance: a double-entry ledger (accounts, journal entries, lines), per-tenant counters,
customer invoices and draft orders. Amounts are BIGINT minor units of the row's currency.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("tenant_id", sa.String(200), primary_key=True),
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("account_type", sa.String(20), nullable=False),
        sa.Column("contra", sa.Boolean, nullable=False),
        sa.Column("created_at", Moment, nullable=False),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("entry_id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(200), nullable=False),
        sa.Column("entry_date", sa.Date, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("idempotency_key", sa.String(500), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_ledger_entries_key"),
    )
    op.create_index("ix_ledger_entries_tenant_date", "ledger_entries", ["tenant_id", "entry_date"])
    op.create_table(
        "ledger_lines",
        sa.Column("entry_id", sa.String(40), sa.ForeignKey("ledger_entries.entry_id"), primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("tenant_id", sa.String(200), nullable=False),
        sa.Column("account_code", sa.String(20), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("debit_minor", sa.BigInteger, nullable=False),
        sa.Column("credit_minor", sa.BigInteger, nullable=False),
        sa.Column("memo", sa.String(500), nullable=False),
    )
    op.create_index(
        "ix_ledger_lines_tenant_account", "ledger_lines", ["tenant_id", "account_code", "currency"]
    )
    op.create_table(
        "finance_sequences",
        sa.Column("tenant_id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "customer_invoices",
        sa.Column("invoice_id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(200), nullable=False),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("project_id", sa.String(200), nullable=False),
        sa.Column("milestone_id", sa.String(200), nullable=False),
        sa.Column("milestone", sa.String(500), nullable=False),
        sa.Column("customer", sa.String(500), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("entry_id", sa.String(40), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.UniqueConstraint("tenant_id", "number", name="uq_customer_invoices_number"),
        sa.UniqueConstraint("tenant_id", "project_id", "milestone_id", name="uq_customer_invoices_milestone"),
    )
    op.create_table(
        "draft_orders",
        sa.Column("order_id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(200), nullable=False),
        sa.Column("po_number", sa.String(100), nullable=False),
        sa.Column("customer", sa.String(500), nullable=False),
        sa.Column("customer_email", sa.String(320), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("lines", Json, nullable=False),
        sa.Column("total_minor", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.UniqueConstraint("tenant_id", "po_number", name="uq_draft_orders_po"),
    )


def downgrade() -> None:
    op.drop_table("draft_orders")
    op.drop_table("customer_invoices")
    op.drop_table("finance_sequences")
    op.drop_index("ix_ledger_lines_tenant_account", table_name="ledger_lines")
    op.drop_table("ledger_lines")
    op.drop_index("ix_ledger_entries_tenant_date", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_accounts")
