"""The finance tables (mirroring migration 0009; the executor owns them) and two small
database helpers every finance module needs: insert-unless-present and per-tenant counters.

Amounts are BIGINT minor units of the row's currency (see money.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

Moment = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
metadata = sa.MetaData()

ledger_accounts = sa.Table(
    "ledger_accounts",
    metadata,
    sa.Column("tenant_id", sa.String(200), primary_key=True),
    sa.Column("code", sa.String(20), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("account_type", sa.String(20), nullable=False),
    sa.Column("contra", sa.Boolean, nullable=False),
    sa.Column("created_at", Moment, nullable=False),
)

ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("entry_id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    sa.Column("entry_date", sa.Date, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("source", sa.String(500), nullable=False),
    sa.Column("idempotency_key", sa.String(500), nullable=False),
    sa.Column("created_at", Moment, nullable=False),
    sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_ledger_entries_key"),
    sa.Index("ix_ledger_entries_tenant_date", "tenant_id", "entry_date"),
)

ledger_lines = sa.Table(
    "ledger_lines",
    metadata,
    sa.Column("entry_id", sa.String(40), sa.ForeignKey("ledger_entries.entry_id"), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    sa.Column("account_code", sa.String(20), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("debit_minor", sa.BigInteger, nullable=False),
    sa.Column("credit_minor", sa.BigInteger, nullable=False),
    sa.Column("memo", sa.String(500), nullable=False),
    sa.Index("ix_ledger_lines_tenant_account", "tenant_id", "account_code", "currency"),
)

finance_sequences = sa.Table(
    "finance_sequences",
    metadata,
    sa.Column("tenant_id", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

customer_invoices = sa.Table(
    "customer_invoices",
    metadata,
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

draft_orders = sa.Table(
    "draft_orders",
    metadata,
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


def insert_unless_present(conn: AsyncConnection, table: sa.Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING on either backend: a row that a unique key says is
    already there is skipped, inside the caller's transaction (no aborted transaction on PostgreSQL)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


async def next_number(conn: AsyncConnection, tenant: str, name: str) -> int:
    """The tenant's next value of counter `name` (1, 2, ...), in the caller's transaction: a
    rolled-back transaction gives its number back, so numbers have no gaps."""
    counter = finance_sequences.c
    where = sa.and_(counter.tenant_id == tenant, counter.name == name)
    for _ in range(3):
        bumped = (
            await conn.execute(
                finance_sequences.update()
                .where(where)
                .values(value=counter.value + 1)
                .returning(counter.value)
            )
        ).first()
        if bumped is not None:
            return int(bumped.value)
        started = (
            await conn.execute(
                insert_unless_present(conn, finance_sequences)
                .values(tenant_id=tenant, name=name, value=1)
                .returning(counter.value)
            )
        ).first()
        if started is not None:
            return 1
    raise RuntimeError(f"could not advance counter {name!r} of tenant {tenant!r}")
