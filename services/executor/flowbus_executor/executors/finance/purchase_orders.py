"""b2b_po_detection: find a purchase order in an email and keep it as a draft order.

An email with a PO number and at least one order line becomes a draft order (table
`draft_orders`, one per tenant and PO number: a re-run or a resent email returns the same
draft). An email without one is a successful answer too: {found: false, reason}.

config: `subject`, `body` (text or HTML), `from`; `currency` (when the email shows none;
default USD), `decimal_comma` (bool; else read from the email).
output: {found: true, po_number, customer: {name, contact, email, source}, currency, lines:
[{description, sku, quantity, unit_price, amount}], total, stated_total, checks:
{total_matches}, draft_order: {order_id, status, created}} or {found: false, reason, po_number?, lines?}.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.finance.config import flag, iso_currency, text
from flowbus_executor.executors.finance.money import ZERO, money_str, round_money, to_minor
from flowbus_executor.executors.finance.po_parsing import FoundOrder, find_order
from flowbus_executor.executors.finance.tables import draft_orders, insert_unless_present
from flowbus_executor.executors.finance.tokens import close
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure

NOT_FOUND = "no purchase order number or order lines found"


def _lines(found: FoundOrder, currency: str) -> list[dict[str, Any]]:
    return [
        {
            "description": line.description,
            "sku": line.sku,
            "quantity": str(line.quantity),
            "unit_price": money_str(line.unit_price, currency),
            "amount": money_str(round_money(line.amount, currency), currency),
        }
        for line in found.lines
    ]


async def detect_purchase_order(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    subject = text(config, "subject", default="", limit=2000) or ""
    body = text(config, "body", default="", limit=1_000_000) or ""
    sender = text(config, "from", default="", limit=500) or ""
    if not subject and not body:
        raise StepFailure("invalid_config", "missing subject and body: there is no email to read")
    comma = flag(config, "decimal_comma") if config.get("decimal_comma") not in (None, "") else None
    found = find_order(subject, body, sender, decimal_comma=comma)
    if found.po_number is None or not found.lines:
        if found.po_number is None and not found.lines:
            return {"found": False, "reason": NOT_FOUND}
        reason = (
            f"purchase order {found.po_number} has no order lines"
            if found.po_number
            else "order lines found but no purchase order number"
        )
        currency = found.currency or "USD"
        return {
            "found": False,
            "reason": reason,
            "po_number": found.po_number,
            "lines": _lines(found, currency),
        }
    currency = found.currency or iso_currency(config, default="USD")
    lines = _lines(found, currency)
    total = sum((round_money(line.amount, currency) for line in found.lines), ZERO)
    draft = await _draft(deps, request.tenant_id, found, currency, lines, total, subject)
    return {
        "found": True,
        "po_number": found.po_number,
        "customer": {
            "name": found.customer,
            "contact": found.contact,
            "email": found.email,
            "source": found.customer_source,
        },
        "currency": currency,
        "lines": lines,
        "total": money_str(total, currency),
        "stated_total": money_str(found.stated_total, currency) if found.stated_total is not None else None,
        "checks": {
            "total_matches": close(found.stated_total, total) if found.stated_total is not None else None
        },
        "draft_order": draft,
    }


async def _draft(
    deps: ExecutorDeps,
    tenant: str,
    found: FoundOrder,
    currency: str,
    lines: list[dict[str, Any]],
    total: Decimal,
    subject: str,
) -> dict[str, Any]:
    """The tenant's draft order for this PO number: inserted once, else the one already there."""
    po_number = (found.po_number or "")[:100]
    async with deps.engine.begin() as conn:
        inserted = (
            await conn.execute(
                insert_unless_present(conn, draft_orders)
                .values(
                    order_id=f"do_{uuid.uuid4().hex}",
                    tenant_id=tenant,
                    po_number=po_number,
                    customer=(found.customer or "")[:500],
                    customer_email=found.email[:320],
                    currency=currency,
                    lines=lines,
                    total_minor=to_minor(total, currency),
                    status="draft",
                    subject=subject,
                    created_at=datetime.now(UTC),
                )
                .returning(draft_orders.c.order_id, draft_orders.c.status)
            )
        ).first()
        if inserted is not None:
            return {"order_id": inserted.order_id, "status": inserted.status, "created": True}
        row = (
            await conn.execute(
                sa.select(draft_orders.c.order_id, draft_orders.c.status).where(
                    draft_orders.c.tenant_id == tenant, draft_orders.c.po_number == po_number
                )
            )
        ).one()
    return {"order_id": row.order_id, "status": row.status, "created": False}
