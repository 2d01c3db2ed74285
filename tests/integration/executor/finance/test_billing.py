"""milestone_billing: completed milestones invoiced once, numbered per tenant without gaps,
booked to receivables and revenue."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.finance import balance, chart
from flowbus_executor.executors.finance.tables import customer_invoices
from tests.integration.executor.finance.conftest import Run

D = Decimal


def milestone(number: int, **change: Any) -> dict[str, Any]:
    return {
        "project_id": "P-42",
        "milestone_id": f"m{number}",
        "milestone": f"Phase {number}",
        "amount": "12500.00",
        "currency": "USD",
        "customer": "Initech",
        "completed": True,
        "issued_on": "2026-11-20",
        **change,
    }


async def billed(run: Run, config: dict[str, Any], **options: Any) -> dict[str, Any]:
    result = await run("milestone_billing", config, **options)
    assert result.status == "succeeded", result.error
    assert result.output is not None
    return result.output


async def test_invoices_numbered_once_per_milestone(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    first = await billed(run, milestone(1))
    assert {
        name: first[name] for name in ("number", "amount", "currency", "issued_on", "due_on", "status")
    } == {
        "number": "INV-000001",
        "amount": "12500.00",
        "currency": "USD",
        "issued_on": "2026-11-20",
        "due_on": "2026-12-20",
        "status": "issued",
    }
    assert first["created"] is True
    second = await billed(run, milestone(2, amount="7500.50", payment_terms_days=14))
    assert (second["number"], second["due_on"]) == ("INV-000002", "2026-12-04")
    again = await billed(run, milestone(1), attempt=2)
    assert (again["number"], again["invoice_id"], again["created"]) == (
        "INV-000001",
        first["invoice_id"],
        False,
    )
    assert await balance(deps.engine, tenant, chart.ACCOUNTS_RECEIVABLE) == {"USD": D("20000.50")}
    assert await balance(deps.engine, tenant, chart.REVENUE) == {"USD": D("20000.50")}


async def test_not_completed_is_refused(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    result = await run("milestone_billing", milestone(1, completed=False))
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error.error_type, result.error.retryable) == ("milestone_not_completed", False)
    assert "Phase 1" in result.error.message
    assert await balance(deps.engine, tenant, chart.ACCOUNTS_RECEIVABLE) == {}
    # The refusal burnt no invoice number.
    assert (await billed(run, milestone(1)))["number"] == "INV-000001"


async def test_other_amount_for_an_invoiced_milestone_is_a_conflict(run: Run) -> None:
    await billed(run, milestone(1))
    result = await run("milestone_billing", milestone(1, amount="13000.00"), attempt=2)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.error_type == "conflict"
    assert "INV-000001" in result.error.message


async def test_concurrent_milestones_get_distinct_numbers(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    results = await asyncio.gather(
        *(run("milestone_billing", milestone(n), step_id=f"s{n}") for n in range(1, 7))
    )
    assert all(result.status == "succeeded" for result in results), [result.error for result in results]
    numbers = sorted(result.output["number"] for result in results if result.output)
    assert numbers == [f"INV-00000{n}" for n in range(1, 7)]
    async with deps.engine.connect() as conn:
        count = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(customer_invoices)
            .where(customer_invoices.c.tenant_id == tenant)
        )
    assert count == 6
    assert await balance(deps.engine, tenant, chart.ACCOUNTS_RECEIVABLE) == {"USD": D("75000.00")}


async def test_bad_config(run: Run) -> None:
    for config, words in [
        (milestone(1, project_id=""), "project_id"),
        (milestone(1, amount="abc"), "amount"),
        (milestone(1, currency="XYZ"), "ISO 4217"),
        (milestone(1, payment_terms_days="soon"), "payment_terms_days"),
        (milestone(1, revenue_account="4999"), "4999"),
    ]:
        result = await run("milestone_billing", config)
        assert result.status == "failed"
        assert result.error is not None
        assert (result.error.error_type, result.error.retryable) == ("invalid_config", False), result.error
        assert words in result.error.message
