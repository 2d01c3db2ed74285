"""The SaaS stack cost_leak_detection looks at: subscriptions, expenses, and what they cost.

A price per seat is per billing period: per month (`monthly`) or per year (`annual`). Costs are
`Saving`s, a monthly and an annual figure kept unrounded; annual billing becomes monthly by
dividing by 12 in Decimal. Expenses to one vendor are summed per calendar month; a vendor charged
in two or more months is `Recurring`, its cadence the median gap between those months.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flowbus_executor.executors.analysis.money import (
    invalid,
    optional_date,
    parse_currency,
    parse_date,
    parse_int,
    parse_money,
    records,
    required_text,
    setting,
    single_currency,
    text_of,
)
from flowbus_executor.executors.analysis.names import name_key

BILLING = {"monthly": 12, "month": 12, "annual": 1, "yearly": 1, "year": 1}
ZERO = Decimal(0)


@dataclass(frozen=True)
class PricePoint:
    date: dt.date
    price_per_seat: Decimal


@dataclass(frozen=True)
class Subscription:
    tool: str
    seats: int
    price_per_seat: Decimal
    billing: str  # "monthly" | "annual"
    currency: str
    vendor: str | None = None
    category: str | None = None
    seats_used: int | None = None
    owner: str | None = None
    history: tuple[PricePoint, ...] = ()

    @property
    def per_year(self) -> int:
        """Billing periods a year: the price per seat is per month (12) or per year (1)."""
        return 12 if self.billing == "monthly" else 1

    def cost(self, seats: int | None = None) -> Saving:
        """What `seats` seats (default: all) cost."""
        return Saving.per(self.price_per_seat * (self.seats if seats is None else seats), self.per_year)


@dataclass(frozen=True)
class Expense:
    vendor: str
    amount: Decimal
    date: dt.date
    currency: str
    category: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Saving:
    """A monthly and an annual amount, both unrounded."""

    monthly: Decimal
    annual: Decimal

    @staticmethod
    def per(amount: Decimal, per_year: Decimal | int) -> Saving:
        """`amount` charged `per_year` times a year; the annual figure stays exact."""
        annual = amount * per_year
        return Saving(annual / 12, annual)

    def __add__(self, other: Saving) -> Saving:
        return Saving(self.monthly + other.monthly, self.annual + other.annual)

    def capped(self, limit: Saving) -> Saving:
        return Saving(min(self.monthly, limit.monthly), min(self.annual, limit.annual))


NO_SAVING = Saving(ZERO, ZERO)


@dataclass(frozen=True)
class Recurring:
    """Charges to one vendor in one currency, summed per calendar month."""

    vendor: str
    currency: str
    category: str | None
    months: tuple[tuple[dt.date, Decimal], ...]  # (first day of month, total), oldest first
    per_year: Decimal

    @property
    def cost(self) -> Saving:
        return Saving.per(self.months[-1][1], self.per_year)


def recurring_expenses(expenses: Sequence[Expense]) -> list[Recurring]:
    """Vendors charged in at least two calendar months (per vendor and currency)."""
    groups: dict[tuple[frozenset[str], str], list[Expense]] = {}
    for expense in expenses:
        key = name_key(expense.vendor) or frozenset({expense.vendor.lower()})
        groups.setdefault((key, expense.currency), []).append(expense)
    for charges in groups.values():
        charges.sort(key=lambda charge: charge.date)
    result = []
    for (_, currency), charges in groups.items():
        months: dict[dt.date, Decimal] = {}
        for charge in charges:
            month = charge.date.replace(day=1)
            months[month] = months.get(month, ZERO) + charge.amount
        if len(months) < 2:
            continue
        ordered = sorted(months.items())
        gaps = [
            (later.year - earlier.year) * 12 + later.month - earlier.month
            for (earlier, _), (later, _) in itertools.pairwise(ordered)
        ]
        result.append(
            Recurring(
                vendor=charges[-1].vendor,
                currency=currency,
                category=next((charge.category for charge in reversed(charges) if charge.category), None),
                months=tuple(ordered),
                per_year=Decimal(12) / Decimal(statistics.median_low(gaps)),
            )
        )
    return result


def subscriptions_from(config: Mapping[str, Any]) -> list[Subscription]:
    result = []
    for index, item in enumerate(records(config, "subscriptions", required=False)):
        name = f"subscriptions[{index}]"
        billing = str(item.get("billing") or "").strip().lower()
        if billing not in BILLING:
            raise invalid(f"{name}.billing", f"expected monthly or annual, got {item.get('billing')!r}")
        seats = parse_int(item.get("seats"), f"{name}.seats")
        used = item.get("seats_used")
        history = []
        for position, point in enumerate(item.get("history") or []):
            where = f"{name}.history[{position}]"
            if not isinstance(point, dict):
                raise invalid(where, "expected an object with date and price_per_seat")
            price = point.get("price_per_seat", point.get("price"))
            history.append(
                PricePoint(
                    parse_date(point.get("date"), f"{where}.date"),
                    parse_money(price, f"{where}.price_per_seat", minimum=ZERO),
                )
            )
        result.append(
            Subscription(
                tool=required_text(item, "tool", name),
                seats=seats,
                price_per_seat=parse_money(
                    item.get("price_per_seat"), f"{name}.price_per_seat", minimum=ZERO
                ),
                billing="monthly" if BILLING[billing] == 12 else "annual",
                currency=parse_currency(item.get("currency") or config.get("currency"), f"{name}.currency"),
                vendor=text_of(item, "vendor"),
                category=text_of(item, "category"),
                seats_used=None if used in (None, "") else parse_int(used, f"{name}.seats_used"),
                owner=text_of(item, "owner"),
                history=tuple(history),
            )
        )
    return result


def expenses_from(config: Mapping[str, Any], subscriptions: Sequence[Subscription]) -> list[Expense]:
    """`expenses`; one without `currency` takes config `currency`, else the subscriptions' one currency."""
    default = setting(config, "currency") or single_currency(sub.currency for sub in subscriptions)
    result = []
    for index, item in enumerate(records(config, "expenses", required=False)):
        name = f"expenses[{index}]"
        date = optional_date(item, "date", name)
        if date is None:
            raise invalid(f"{name}.date", "missing")
        result.append(
            Expense(
                vendor=required_text(item, "vendor", name),
                amount=parse_money(item.get("amount"), f"{name}.amount"),
                date=date,
                currency=parse_currency(item.get("currency") or default, f"{name}.currency"),
                category=text_of(item, "category"),
                description=text_of(item, "description"),
            )
        )
    return result
