"""milestone_billing: invoice a completed project milestone once.

A completed milestone gets a customer invoice numbered per tenant without gaps
(INV-000001, INV-000002, ...) and its journal entry (debit Accounts Receivable 1100, credit
Revenue 4000), in one transaction. A second run for the same project and milestone returns
the invoice already issued.

config: `project_id`, `milestone_id`, `milestone` (its name; or `milestone_name`), `amount`,
`currency`, `customer`, `completed` (bool); `issued_on` (default today), `payment_terms_days`
(default 30), `revenue_account` (default 4000).
output: {invoice_id, number, project_id, milestone_id, milestone, customer, currency, amount,
issued_on, due_on, status, entry_id, created}.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.finance import chart
from flowbus_executor.executors.finance.config import (
    amount,
    day,
    flag,
    iso_currency,
    ledger_failure,
    required_text,
    text,
)
from flowbus_executor.executors.finance.ledger import Entry, LedgerError, Line, post
from flowbus_executor.executors.finance.money import from_minor, money_str, to_minor
from flowbus_executor.executors.finance.tables import customer_invoices, next_number
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure

SEQUENCE = "customer_invoice"


def invoice_number(value: int) -> str:
    return f"INV-{value:06d}"


async def _existing(conn: AsyncConnection, tenant: str, project: str, milestone: str) -> Any:
    return (
        await conn.execute(
            sa.select(customer_invoices).where(
                customer_invoices.c.tenant_id == tenant,
                customer_invoices.c.project_id == project,
                customer_invoices.c.milestone_id == milestone,
            )
        )
    ).first()


def _output(row: Any, created: bool) -> dict[str, Any]:
    return {
        "invoice_id": row.invoice_id,
        "number": row.number,
        "project_id": row.project_id,
        "milestone_id": row.milestone_id,
        "milestone": row.milestone,
        "customer": row.customer,
        "currency": row.currency,
        "amount": money_str(from_minor(row.amount_minor, row.currency), row.currency),
        "issued_on": row.issued_on.isoformat(),
        "due_on": row.due_on.isoformat(),
        "status": row.status,
        "entry_id": row.entry_id,
        "created": created,
    }


@dataclass(frozen=True)
class Milestone:
    project: str
    milestone_id: str
    name: str
    customer: str
    currency: str
    amount: Decimal
    issued_on: date
    terms_days: int
    revenue_account: str


def _milestone(config: dict[str, Any]) -> Milestone:
    project = required_text(config, "project_id", limit=200)
    milestone_id = required_text(config, "milestone_id", limit=200)
    name = text(config, "milestone") or text(config, "milestone_name") or milestone_id
    if not flag(config, "completed"):
        raise StepFailure(
            "milestone_not_completed",
            f"milestone {name!r} of project {project} is not completed: there is nothing to invoice yet",
        )
    currency = iso_currency(config)
    terms = config.get("payment_terms_days", 30)
    if isinstance(terms, bool) or not isinstance(terms, int | str) or not str(terms).isdigit():
        raise StepFailure("invalid_config", "payment_terms_days must be a whole number of days")
    return Milestone(
        project=project,
        milestone_id=milestone_id,
        name=name,
        customer=required_text(config, "customer"),
        currency=currency,
        amount=amount(config.get("amount"), "amount", currency),
        issued_on=day(config, "issued_on"),
        terms_days=int(terms),
        revenue_account=text(config, "revenue_account", default=chart.REVENUE, limit=20) or "",
    )


async def bill_milestone(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    milestone, tenant = _milestone(request.config), request.tenant_id
    async with deps.engine.connect() as conn:
        found = await _existing(conn, tenant, milestone.project, milestone.milestone_id)
    if found is None:
        try:
            return _output(await _issue(deps, tenant, milestone), True)
        except IntegrityError:
            async with deps.engine.connect() as conn:  # a concurrent run issued it first
                found = await _existing(conn, tenant, milestone.project, milestone.milestone_id)
            if found is None:
                raise
    if (
        found.amount_minor != to_minor(milestone.amount, milestone.currency)
        or found.currency != milestone.currency
    ):
        issued = money_str(from_minor(found.amount_minor, found.currency), found.currency)
        raise StepFailure(
            "conflict",
            f"milestone {milestone.name!r} of project {milestone.project} was already invoiced as"
            f" {found.number} for {issued} {found.currency}",
        )
    return _output(found, False)


async def _issue(deps: ExecutorDeps, tenant: str, milestone: Milestone) -> Any:
    """Number, post and record the invoice in one transaction (a failure burns no number)."""
    currency, value = milestone.currency, milestone.amount
    try:
        async with deps.engine.begin() as conn:
            number = invoice_number(await next_number(conn, tenant, SEQUENCE))
            entry = await post(
                conn,
                tenant,
                Entry(
                    lines=[
                        Line(chart.ACCOUNTS_RECEIVABLE, currency, debit=value, memo=f"invoice {number}"),
                        Line(
                            milestone.revenue_account,
                            currency,
                            credit=value,
                            memo=f"{milestone.project}: {milestone.name}",
                        ),
                    ],
                    idempotency_key=f"billing:{milestone.project}:{milestone.milestone_id}",
                    entry_date=milestone.issued_on,
                    description=f"Invoice {number} to {milestone.customer}: {milestone.name}",
                    source=f"customer_invoice:{number}",
                ),
            )
            row = {
                "invoice_id": f"ci_{uuid.uuid4().hex}",
                "tenant_id": tenant,
                "number": number,
                "project_id": milestone.project,
                "milestone_id": milestone.milestone_id,
                "milestone": milestone.name,
                "customer": milestone.customer,
                "currency": currency,
                "amount_minor": to_minor(value, currency),
                "issued_on": milestone.issued_on,
                "due_on": milestone.issued_on + timedelta(days=milestone.terms_days),
                "status": "issued",
                "entry_id": entry.entry_id,
                "created_at": datetime.now(UTC),
            }
            await conn.execute(customer_invoices.insert().values(**row))
    except LedgerError as error:
        raise ledger_failure(error) from None
    return SimpleNamespace(**row)
