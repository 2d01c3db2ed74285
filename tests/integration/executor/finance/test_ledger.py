"""The ledger core on both backends: balanced entries only, posted once per key, balances on
each account's normal side, a trial balance whose columns agree, the default chart."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.finance import chart
from flowbus_executor.executors.finance.ledger import (
    Entry,
    IdempotencyConflict,
    LedgerError,
    Line,
    Unbalanced,
    UnknownAccount,
    accounts,
    balance,
    create_account,
    post,
    trial_balance,
)
from flowbus_executor.executors.finance.tables import ledger_entries, ledger_lines

D = Decimal


def sale(key: str, amount: str, *, day: date = date(2026, 11, 3)) -> Entry:
    return Entry(
        lines=[
            Line(chart.CASH, "USD", debit=D(amount)),
            Line(chart.REVENUE, "USD", credit=D(amount)),
        ],
        idempotency_key=key,
        entry_date=day,
        description="cash sale",
        source="test",
    )


async def rows(deps: ExecutorDeps, tenant: str) -> tuple[int, int]:
    async with deps.engine.connect() as conn:
        entries = await conn.scalar(
            sa.select(sa.func.count()).select_from(ledger_entries).where(ledger_entries.c.tenant_id == tenant)
        )
        lines = await conn.scalar(
            sa.select(sa.func.count()).select_from(ledger_lines).where(ledger_lines.c.tenant_id == tenant)
        )
    return int(entries or 0), int(lines or 0)


async def test_post_once_per_key_and_balances(deps: ExecutorDeps, tenant: str) -> None:
    first = await post(deps.engine, tenant, sale("sale-1", "100.00"))
    assert first.created
    again = await post(deps.engine, tenant, sale("sale-1", "100.00"))
    assert not again.created
    assert again.entry_id == first.entry_id
    assert await rows(deps, tenant) == (1, 2)
    await post(deps.engine, tenant, sale("sale-2", "0.10"))
    await post(deps.engine, tenant, sale("sale-3", "0.20"))
    assert await balance(deps.engine, tenant, chart.CASH) == {"USD": D("100.30")}
    # Revenue grows on the credit side, so its balance is positive too.
    assert await balance(deps.engine, tenant, chart.REVENUE) == {"USD": D("100.30")}
    with pytest.raises(IdempotencyConflict):
        await post(deps.engine, tenant, sale("sale-1", "99.00"))
    assert await rows(deps, tenant) == (3, 6)


async def test_unbalanced_entry_writes_nothing(deps: ExecutorDeps, tenant: str) -> None:
    entry = Entry(
        lines=[
            Line(chart.CASH, "USD", debit=D("100.00")),
            Line(chart.REVENUE, "USD", credit=D("99.99")),
        ],
        idempotency_key="bad",
        entry_date=date(2026, 11, 3),
    )
    with pytest.raises(Unbalanced) as caught:
        await post(deps.engine, tenant, entry)
    assert caught.value.totals == {"USD": (D("100.00"), D("99.99"))}
    assert "difference 0.01" in str(caught.value)
    assert await rows(deps, tenant) == (0, 0)


async def test_balance_is_per_currency(deps: ExecutorDeps, tenant: str) -> None:
    # Balanced in each currency separately; 100 USD against 92 EUR would not be.
    entry = Entry(
        lines=[
            Line(chart.CASH, "USD", debit=D("100.00")),
            Line(chart.REVENUE, "USD", credit=D("100.00")),
            Line(chart.CASH, "EUR", debit=D("92.00")),
            Line(chart.REVENUE, "EUR", credit=D("92.00")),
        ],
        idempotency_key="two-currencies",
        entry_date=date(2026, 11, 3),
    )
    await post(deps.engine, tenant, entry)
    assert await balance(deps.engine, tenant, chart.CASH) == {"USD": D("100.00"), "EUR": D("92.00")}
    crossed = Entry(
        lines=[Line(chart.CASH, "USD", debit=D("100.00")), Line(chart.REVENUE, "EUR", credit=D("100.00"))],
        idempotency_key="crossed",
        entry_date=date(2026, 11, 3),
    )
    with pytest.raises(Unbalanced):
        await post(deps.engine, tenant, crossed)


async def test_refuses_what_is_not_money(deps: ExecutorDeps, tenant: str) -> None:
    def entry(line: Line) -> Entry:
        return Entry([line, Line(chart.REVENUE, "USD", credit=D("1.00"))], "k", date(2026, 1, 1))

    with pytest.raises(LedgerError, match="more decimals"):
        await post(deps.engine, tenant, entry(Line(chart.CASH, "USD", debit=D("1.001"))))
    with pytest.raises(LedgerError, match="ISO 4217"):
        await post(deps.engine, tenant, entry(Line(chart.CASH, "XXY", debit=D("1.00"))))
    with pytest.raises(LedgerError, match="negative"):
        await post(deps.engine, tenant, entry(Line(chart.CASH, "USD", debit=D("-1.00"))))
    with pytest.raises(UnknownAccount, match="9999"):
        await post(deps.engine, tenant, entry(Line("9999", "USD", debit=D("1.00"))))
    # Yen have no minor unit: 1.5 JPY cannot be posted, 1500 JPY can.
    with pytest.raises(LedgerError, match="JPY"):
        await post(deps.engine, tenant, entry(Line(chart.CASH, "JPY", debit=D("1.5"))))
    assert await rows(deps, tenant) == (0, 0)


async def test_default_chart_and_own_accounts(deps: ExecutorDeps, tenant: str) -> None:
    await post(deps.engine, tenant, sale("s", "10.00"))
    chart_now = await accounts(deps.engine, tenant)
    assert chart_now["1300"].name == "VAT Receivable"
    assert chart_now["4900"].contra
    assert chart_now["4900"].debit_normal
    assert chart_now["2200"].type == "liability"
    await create_account(deps.engine, tenant, chart.Account("6900", "Bank Charges", "expense"))
    entry = Entry(
        [Line("6900", "USD", debit=D("2.50")), Line(chart.CASH, "USD", credit=D("2.50"))],
        "charge",
        date(2026, 11, 4),
    )
    await post(deps.engine, tenant, entry)
    assert await balance(deps.engine, tenant, "6900") == {"USD": D("2.50")}
    assert await balance(deps.engine, tenant, chart.CASH) == {"USD": D("7.50")}


async def test_trial_balance_columns_agree(deps: ExecutorDeps, tenant: str) -> None:
    await post(deps.engine, tenant, sale("a", "1000.00", day=date(2026, 10, 1)))
    expense = Entry(
        [
            Line(chart.OPERATING_EXPENSES, "USD", debit=D("250.00")),
            Line(chart.VAT_RECEIVABLE, "USD", debit=D("50.00")),
            Line(chart.ACCOUNTS_PAYABLE, "USD", credit=D("300.00")),
        ],
        "bill",
        date(2026, 11, 1),
    )
    await post(deps.engine, tenant, expense)
    trial = await trial_balance(deps.engine, tenant)
    assert trial.balanced
    assert trial.net("USD") == 0
    assert trial.totals["USD"] == (D("1300.00"), D("1300.00"))
    by_code = {row.code: (row.debit, row.credit) for row in trial.rows}
    assert by_code["2000"] == (D(0), D("300.00"))
    assert by_code["1000"] == (D("1000.00"), D(0))
    october = await trial_balance(deps.engine, tenant, as_of=date(2026, 10, 31))
    assert october.totals["USD"] == (D("1000.00"), D("1000.00"))
    assert await balance(deps.engine, tenant, chart.ACCOUNTS_PAYABLE, as_of=date(2026, 10, 31)) == {}


async def test_post_inside_a_callers_transaction(deps: ExecutorDeps, tenant: str) -> None:
    """Given a connection, post joins its transaction: a rollback takes the entry back."""
    async with deps.engine.connect() as conn:
        transaction = await conn.begin()
        await post(conn, tenant, sale("rolled-back", "5.00"))
        await transaction.rollback()
    assert await rows(deps, tenant) == (0, 0)
