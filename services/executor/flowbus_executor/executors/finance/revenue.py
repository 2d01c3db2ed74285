"""revenue_recognition: a contract's revenue schedule, recognised as it is earned.

On the first run the whole contract is deferred (debit Accounts Receivable 1100, credit
Deferred Revenue 2200); then each period that has ended by `as_of` (ratable) or each
completed milestone moves its share from Deferred Revenue to Revenue 4000. Every entry is
posted once (keyed by contract and period), so runs can repeat as often as wanted.

config: `contract_id`, `customer`, `total`, `currency`, `method` "ratable" | "milestone";
ratable: `start`, `end` (monthly periods from `start`; equal months, or by days when the
term is not whole months; the last period absorbs rounding); milestone: `milestones`
[{name, amount | percent, completed, completed_on}]; `as_of` (default today).
output: {contract_id, customer, currency, method, total, as_of, deferral, schedule:
[{period, start, end, amount, status: posted | pending, entry_id, recognised_on}],
recognised_to_date, deferred_remaining, posted_now}.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.finance import chart
from flowbus_executor.executors.finance.config import (
    amount,
    day,
    flag,
    iso_currency,
    ledger_failure,
    number,
    required_text,
    text,
)
from flowbus_executor.executors.finance.ledger import (
    Entry,
    IdempotencyConflict,
    LedgerError,
    Line,
    PostedEntry,
    find_entries,
    post,
)
from flowbus_executor.executors.finance.money import ZERO, money_str, round_money
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure

MAX_PERIODS = 600  # fifty years of months


@dataclass(frozen=True)
class Period:
    key: str  # unique within the contract: "2026-01" or "milestone:<name>"
    name: str
    start: date | None
    end: date | None
    amount: Decimal
    recognise_on: date | None  # None: not earned yet (a milestone not completed)


def add_months(start: date, months: int) -> date:
    """`start` moved by whole months, the day clamped to the month's length (Jan 31 -> Feb 28)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def ratable_schedule(total: Decimal, currency: str, start: date, end: date) -> list[Period]:
    """Monthly periods from `start` to `end` inclusive: equal amounts when the term is whole
    months, else in proportion to each period's days; the last period absorbs the rounding."""
    if end < start:
        raise StepFailure("invalid_config", "end is before start")
    bounds: list[tuple[date, date]] = []
    while True:
        first = add_months(start, len(bounds))
        if first > end:
            break
        bounds.append((first, min(add_months(start, len(bounds) + 1) - timedelta(days=1), end)))
        if len(bounds) > MAX_PERIODS:
            raise StepFailure("invalid_config", f"the term is longer than {MAX_PERIODS} months")
    whole_months = add_months(start, len(bounds)) == end + timedelta(days=1)
    term_days = (end - start).days + 1
    amounts: list[Decimal] = []
    for first, last in bounds[:-1]:
        share = Decimal(1) / len(bounds) if whole_months else Decimal((last - first).days + 1) / term_days
        amounts.append(round_money(total * share, currency))
    amounts.append(total - sum(amounts, ZERO))
    return [
        Period(f"{first:%Y-%m}", f"{first:%Y-%m}", first, last, share, last)
        for (first, last), share in zip(bounds, amounts, strict=True)
    ]


def milestone_schedule(total: Decimal, currency: str, milestones: list[Any], as_of: date) -> list[Period]:
    """One period per milestone, by amount or by percent of the total; the last milestone
    given as a percent absorbs the rounding. They must add up to the contract total."""
    if not isinstance(milestones, list) or not milestones:
        raise StepFailure("invalid_config", "milestones must be a non-empty list")
    periods: list[Period] = []
    by_percent: list[int] = []
    for index, milestone in enumerate(milestones):
        if not isinstance(milestone, dict):
            raise StepFailure("invalid_config", f"milestones[{index}] must be an object")
        name = required_text(milestone, "name", limit=200)
        if milestone.get("amount") not in (None, ""):
            share = amount(milestone["amount"], f"milestone {name} amount", currency)
        elif milestone.get("percent") not in (None, ""):
            percent = number(milestone["percent"], f"milestone {name} percent")
            if not 0 < percent <= 100:
                raise StepFailure("invalid_config", f"milestone {name} percent must be in (0, 100]")
            share = round_money(total * percent / 100, currency)
            by_percent.append(index)
        else:
            raise StepFailure("invalid_config", f"milestone {name} needs an amount or a percent")
        done = flag(milestone, "completed")
        completed_on = day(milestone, "completed_on", default=as_of) if done else None
        period = Period(f"milestone:{name}", name, None, completed_on, share, completed_on)
        periods.append(period)
    if len({period.key for period in periods}) != len(periods):
        raise StepFailure("invalid_config", "milestone names must be unique")
    difference = total - sum((period.amount for period in periods), ZERO)
    if difference and by_percent and abs(difference) <= Decimal("0.01") * len(by_percent):
        last = periods[by_percent[-1]]
        periods[by_percent[-1]] = Period(
            last.key, last.name, last.start, last.end, last.amount + difference, last.recognise_on
        )
    elif difference:
        listed = money_str(total - difference, currency)
        raise StepFailure(
            "invalid_config",
            f"milestones add up to {listed}, not the contract total {money_str(total, currency)}",
        )
    return periods


async def recognise(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    contract = required_text(config, "contract_id", limit=200)
    customer = required_text(config, "customer")
    currency = iso_currency(config)
    total = amount(config.get("total"), "total", currency)
    method = required_text(config, "method", limit=20).lower()
    as_of = day(config, "as_of")
    if method == "ratable":
        start, end = day(config, "start", default=date.min), day(config, "end", default=date.min)
        if date.min in (start, end):
            raise StepFailure("invalid_config", "a ratable contract needs start and end")
        schedule = ratable_schedule(total, currency, start, end)
        deferral_date = start
    elif method == "milestone":
        schedule = milestone_schedule(total, currency, config.get("milestones") or [], as_of)
        deferral_date = day(config, "start", default=as_of)
    else:
        raise StepFailure("invalid_config", "method must be ratable or milestone")
    receivable = text(config, "receivable_account", default=chart.ACCOUNTS_RECEIVABLE, limit=20) or ""
    deferred = text(config, "deferred_account", default=chart.DEFERRED_REVENUE, limit=20) or ""
    revenue = text(config, "revenue_account", default=chart.REVENUE, limit=20) or ""
    prefix = f"revrec:{contract}"
    deferral = Entry(
        lines=[
            Line(receivable, currency, debit=total, memo=f"contract {contract} billed"),
            Line(deferred, currency, credit=total, memo="deferred until earned"),
        ],
        idempotency_key=f"{prefix}:deferral",
        entry_date=deferral_date,
        description=f"Deferred revenue of contract {contract} ({customer})",
        source=f"contract:{contract}",
    )
    due = [period for period in schedule if period.recognise_on is not None and period.recognise_on <= as_of]
    entries = [deferral] + [
        Entry(
            lines=[
                Line(deferred, currency, debit=period.amount, memo=f"earned {period.name}"),
                Line(revenue, currency, credit=period.amount, memo=f"contract {contract}"),
            ],
            idempotency_key=f"{prefix}:{period.key}",
            entry_date=period.recognise_on or as_of,
            description=f"Revenue recognised for contract {contract}: {period.name}",
            source=f"contract:{contract}",
        )
        for period in due
        if period.amount
    ]
    try:
        async with deps.engine.begin() as conn:
            posted = [await post(conn, request.tenant_id, entry) for entry in entries]
    except IdempotencyConflict as conflict:
        raise StepFailure(
            "contract_changed",
            f"contract {contract} was already posted ({conflict.existing.idempotency_key}) with other"
            " amounts: a changed contract needs an adjustment, not a re-run",
        ) from None
    except LedgerError as error:
        raise ledger_failure(error) from None
    by_key = {entry.idempotency_key: entry for entry in posted}
    # Periods recognised by an earlier run with a later as_of stay posted.
    earlier = await find_entries(
        deps.engine,
        request.tenant_id,
        [f"{prefix}:{p.key}" for p in schedule if f"{prefix}:{p.key}" not in by_key],
    )
    by_key |= earlier
    rows = [_row(period, by_key.get(f"{prefix}:{period.key}"), currency) for period in schedule]
    recognised = sum((period.amount for period in schedule if f"{prefix}:{period.key}" in by_key), ZERO)
    return {
        "contract_id": contract,
        "customer": customer,
        "currency": currency,
        "method": method,
        "total": money_str(total, currency),
        "as_of": as_of.isoformat(),
        "deferral": posted[0].as_dict(),
        "schedule": rows,
        "recognised_to_date": money_str(recognised, currency),
        "deferred_remaining": money_str(total - recognised, currency),
        "posted_now": sum(1 for entry in posted if entry.created),
    }


def _row(period: Period, entry: PostedEntry | None, currency: str) -> dict[str, Any]:
    return {
        "period": period.name,
        "start": period.start.isoformat() if period.start else None,
        "end": period.end.isoformat() if period.end else None,
        "amount": money_str(period.amount, currency),
        "status": "posted" if entry else "pending",
        "entry_id": entry.entry_id if entry else None,
        "recognised_on": entry.entry_date.isoformat() if entry else None,
    }
