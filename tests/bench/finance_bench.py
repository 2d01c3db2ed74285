"""Finance throughput on PostgreSQL: balanced ledger entries posted (one at a time, and 8
writers), and invoice_processing steps (parse, check, post the bill) run by the executor's
handler one after another."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date
from decimal import Decimal

from flowbus_executor.executors.finance import Entry, Line, chart, handlers, post
from flowbus_shared.step_worker import run_step
from flowbus_shared.store import open_store
from tests.support.executor_deps import executor_deps, step_request

INVOICE = """\
ACME Office Supplies Ltd
Invoice No: INV-{number}
Invoice date: 2026-11-03
Due date: 2026-12-03

Description              Qty   Unit price    Amount
Printer paper A4 (box)     4        25.00    100.00
Toner cartridge            2        80.00    160.00

Subtotal                                     260.00
VAT 20%                                       52.00
Total                                   GBP  312.00
"""


def _entry(n: int) -> Entry:
    amount = Decimal("100.00") + n % 50
    return Entry(
        lines=[Line(chart.OPERATING_EXPENSES, "USD", debit=amount), Line(chart.CASH, "USD", credit=amount)],
        idempotency_key=f"bench-{uuid.uuid4().hex}",
        entry_date=date(2026, 11, 24),
        description="bench",
    )


async def ledger_posts(database_url: str, entries: int = 2000, writers: int = 1) -> float:
    store = await open_store(database_url)
    tenant = f"bench-{uuid.uuid4().hex[:6]}"
    try:
        await post(store.engine, tenant, _entry(0))  # creates the chart
        queue = iter(range(entries))

        async def writer() -> None:
            for n in queue:
                await post(store.engine, tenant, _entry(n))

        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(writers)))
        return entries / (time.perf_counter() - started)
    finally:
        await store.close()


async def invoices_per_second(database_url: str, invoices: int = 500) -> float:
    async with executor_deps(database_url) as deps:
        run = handlers(deps)
        tenant = f"bench-{uuid.uuid4().hex[:6]}"
        started = time.perf_counter()
        for n in range(invoices):
            request = step_request(
                "invoice_processing", {"text": INVOICE.format(number=n)}, step_id=f"inv{n}"
            )
            result = await run_step(
                run, request.model_copy(update={"tenant_id": tenant}), executed_by="bench"
            )
            if result.status != "succeeded":
                raise SystemExit(f"benchmark invoice failed: {result.error}")
        return invoices / (time.perf_counter() - started)


async def finance_rows(database_url: str) -> list[str]:
    single = await ledger_posts(database_url)
    eight = await ledger_posts(database_url, writers=8)
    invoices = await invoices_per_second(database_url)
    return [
        f"| ledger entries posted (balanced, 2 lines), 1 writer / 8 writers | {single:,.0f}/s / {eight:,.0f}/s |",
        f"| invoice_processing (parse, check, post the bill), one after another | {invoices:,.0f} invoices/s |",
    ]
