"""Finance analysis steps: computations over data in the step config (which earlier steps or
integrations produce), in exact Decimal money; no remote service, no table. Money in the output is
a string with two decimals ("1234.56", ROUND_HALF_UP); input takes numbers or strings. A bad value
fails the step permanently as `invalid_config`, naming the field ("payments[3].amount").

invoice_reconciliation config: `invoices` [{id, number?, customer?|vendor?, amount, currency, date,
due_date?}], `payments` [{id, amount, currency, date, reference?, payer?}], `amount_tolerance`
(default "0.01"), `percent_tolerance`, `date_window_days` (30), `match_partial` (true); output
{matched: [{invoice_id, payment_ids, invoice_amount, paid_amount, difference, rule, status}],
unmatched_invoices, unmatched_payments, discrepancies: [{invoice_id, payment_ids, difference,
reason}], summary}. See `matching` and `reconciliation`.

cost_leak_detection config: `subscriptions` [{tool, vendor?, category?, seats, seats_used?,
price_per_seat, billing, currency, owner?, history?}], `expenses` [{vendor, amount, date,
currency?, category?}], `price_rise_threshold` (percent, 5); output {findings: [{kind, tool?,
vendor?, detail, potential_savings_monthly, potential_savings_annual, currency}],
total_potential_savings_monthly, total_potential_savings_annual, currency, by_currency}.
See `cost_leaks`.

budget_check config: `budgets` (list or mapping), `spend`, optionally `category` + `amount` (a
request), `group_by`, `warning_percent` (80), `allow_unbudgeted`, `as_of`; output {categories:
[{category, limit, spent, remaining, percent_used, status}], allowed, over_budget, total_limit,
total_spent, ...}. See `budgets`.

Totals mixing currencies are never added up: top-level totals are null then, `by_currency` has them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.analysis.budgets import check_config
from flowbus_executor.executors.analysis.cost_leaks import detect_config
from flowbus_executor.executors.analysis.reconciliation import reconcile_config
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepHandler


def handlers(_deps: ExecutorDeps) -> dict[str, StepHandler]:
    """The three steps; each computes in a worker thread so a large feed never stalls the event loop."""

    async def invoice_reconciliation(request: StepRequest) -> dict[str, Any]:
        return await asyncio.to_thread(reconcile_config, request.config)

    async def cost_leak_detection(request: StepRequest) -> dict[str, Any]:
        return await asyncio.to_thread(detect_config, request.config)

    async def budget_check(request: StepRequest) -> dict[str, Any]:
        return await asyncio.to_thread(check_config, request.config)

    return {
        "invoice_reconciliation": invoice_reconciliation,
        "cost_leak_detection": cost_leak_detection,
        "budget_check": budget_check,
    }
