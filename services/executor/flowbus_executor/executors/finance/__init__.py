"""Finance step types over a double-entry ledger of the executor's own tables.

invoice_processing (invoices.py), ecommerce_sync (shopify.py), revenue_recognition
(revenue.py), milestone_billing (billing.py), b2b_po_detection (purchase_orders.py).
The ledger API (post, balance, trial_balance, the chart's account codes) is ledger.py and
chart.py, re-exported here for other executors to book through."""

from __future__ import annotations

from typing import Any

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.finance import chart
from flowbus_executor.executors.finance.billing import bill_milestone
from flowbus_executor.executors.finance.chart import DEFAULT_CHART, Account
from flowbus_executor.executors.finance.invoices import process_invoice
from flowbus_executor.executors.finance.ledger import (
    Entry,
    IdempotencyConflict,
    LedgerError,
    Line,
    PostedEntry,
    TrialBalance,
    Unbalanced,
    UnknownAccount,
    accounts,
    balance,
    create_account,
    ensure_chart,
    find_entry,
    post,
    trial_balance,
)
from flowbus_executor.executors.finance.purchase_orders import detect_purchase_order
from flowbus_executor.executors.finance.revenue import recognise
from flowbus_executor.executors.finance.shopify import sync_order
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepHandler


def handlers(deps: ExecutorDeps) -> dict[str, StepHandler]:
    async def invoice_processing(request: StepRequest) -> dict[str, Any]:
        return await process_invoice(deps, request)

    async def ecommerce_sync(request: StepRequest) -> dict[str, Any]:
        return await sync_order(deps, request)

    async def revenue_recognition(request: StepRequest) -> dict[str, Any]:
        return await recognise(deps, request)

    async def milestone_billing(request: StepRequest) -> dict[str, Any]:
        return await bill_milestone(deps, request)

    async def b2b_po_detection(request: StepRequest) -> dict[str, Any]:
        return await detect_purchase_order(deps, request)

    return {
        "invoice_processing": invoice_processing,
        "ecommerce_sync": ecommerce_sync,
        "revenue_recognition": revenue_recognition,
        "milestone_billing": milestone_billing,
        "b2b_po_detection": b2b_po_detection,
    }


__all__ = [
    "DEFAULT_CHART",
    "Account",
    "Entry",
    "IdempotencyConflict",
    "LedgerError",
    "Line",
    "PostedEntry",
    "TrialBalance",
    "Unbalanced",
    "UnknownAccount",
    "accounts",
    "balance",
    "chart",
    "create_account",
    "ensure_chart",
    "find_entry",
    "handlers",
    "post",
    "trial_balance",
]
