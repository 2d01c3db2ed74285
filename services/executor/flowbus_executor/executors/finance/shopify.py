"""ecommerce_sync: a Shopify order (REST Admin API JSON) as balanced journal entries.

The sale: credit Revenue 4000 (gross of discounts), debit Sales Discounts 4900, credit
Shipping Revenue 4100, credit Sales Tax Payable 2100, debit Cash 1000 for what was captured
and Accounts Receivable 1100 for the rest; processing fees debit 6100 and credit Cash.
Each refund reverses what it gives back (revenue and its discount share, shipping, tax)
against the cash refunded; value returned beyond that cash comes off the receivable.
Posted once per order and once per refund, all of one run in one transaction.

config: `order` (the order object, or {"order": {...}} as the API returns it), `fee_rate`
(a fraction: 0.029 for 2.9%) and `fee_fixed` per captured transaction, used when a
transaction carries no `fee` of its own.
output: {order_id, order_name, currency, entries: [{kind, refund_id?, entry_id, date,
posted_now, lines}], summary: {gross_sales, discounts, net_sales, shipping, tax, total, paid,
fees, receivable, refunded, refunded_revenue, refunded_shipping, refunded_tax, net_sales_after_refunds,
net_cash}}.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.finance import chart
from flowbus_executor.executors.finance.config import ledger_failure
from flowbus_executor.executors.finance.ledger import (
    Entry,
    IdempotencyConflict,
    LedgerError,
    Line,
    checked_lines,
    post,
)
from flowbus_executor.executors.finance.money import (
    ZERO,
    MoneyError,
    currency_code,
    money_str,
    round_money,
    to_decimal,
)
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure

_CAPTURES = ("sale", "capture")


def _amount(value: Any, where: str) -> Decimal:
    try:
        return to_decimal(value if value not in (None, "") else 0)
    except MoneyError as error:
        raise StepFailure("invalid_config", f"order {where}: {error}") from None


def _quantity(value: Any, where: str) -> int:
    try:
        return int(str(value if value not in (None, "") else 0))
    except ValueError:
        raise StepFailure("invalid_config", f"order {where}: {value!r} is not a whole quantity") from None


def _day(record: dict[str, Any], fallback: date) -> date:
    for name in ("processed_at", "created_at"):
        value = record.get(name)
        if value:
            try:
                return date.fromisoformat(str(value)[:10])
            except ValueError:
                continue
    return fallback


def _succeeded(transaction: dict[str, Any]) -> bool:
    return str(transaction.get("status") or "success").lower() == "success"


@dataclass
class Totals:
    gross_sales: Decimal = ZERO
    discounts: Decimal = ZERO
    shipping: Decimal = ZERO
    tax: Decimal = ZERO
    total: Decimal = ZERO
    paid: Decimal = ZERO
    fees: Decimal = ZERO
    refunded: Decimal = ZERO
    refunded_revenue: Decimal = ZERO  # net of the discount share given back
    refunded_shipping: Decimal = ZERO
    refunded_tax: Decimal = ZERO
    receivable: Decimal = ZERO
    notes: list[str] = field(default_factory=list)

    def as_dict(self, currency: str) -> dict[str, Any]:
        net_sales = self.gross_sales - self.discounts
        values = {
            "gross_sales": self.gross_sales,
            "discounts": self.discounts,
            "net_sales": net_sales,
            "shipping": self.shipping,
            "tax": self.tax,
            "total": self.total,
            "paid": self.paid,
            "fees": self.fees,
            "receivable": self.receivable,
            "refunded": self.refunded,
            "refunded_revenue": self.refunded_revenue,
            "refunded_shipping": self.refunded_shipping,
            "refunded_tax": self.refunded_tax,
            "net_sales_after_refunds": net_sales - self.refunded_revenue,
            "net_cash": self.paid - self.fees - self.refunded,
        }
        return {name: money_str(value, currency) for name, value in values.items()} | {"notes": self.notes}


class OrderBook:
    """The journal entries of one order, computed without touching the database."""

    def __init__(self, order: dict[str, Any], *, fee_rate: Decimal, fee_fixed: Decimal, today: date) -> None:
        self.order = order
        self.order_id = str(order.get("id") or "")
        if not self.order_id:
            raise StepFailure("invalid_config", "order has no id")
        try:
            self.currency = currency_code(order.get("currency"))
        except MoneyError as error:
            raise StepFailure("invalid_config", f"order currency: {error}") from None
        self.name = str(order.get("name") or f"#{order.get('order_number') or self.order_id}")
        self.fee_rate, self.fee_fixed, self.today = fee_rate, fee_fixed, today
        self.taxes_included = bool(order.get("taxes_included"))
        self.totals = Totals()
        self.prices = {
            str(item.get("id")): _amount(item.get("price"), "line_items.price")
            for item in order.get("line_items") or []
            if isinstance(item, dict)
        }

    def money(self, value: Any, where: str) -> Decimal:
        return round_money(_amount(value, where), self.currency)

    def sale(self) -> Entry:
        order, totals, cur = self.order, self.totals, self.currency
        items = [item for item in order.get("line_items") or [] if isinstance(item, dict)]
        totals.gross_sales = sum(
            (
                self.money(
                    _amount(i.get("price"), "price") * _quantity(i.get("quantity"), "line_items.quantity"),
                    "line",
                )
                for i in items
            ),
            ZERO,
        )
        if order.get("total_discounts") not in (None, ""):
            totals.discounts = self.money(order["total_discounts"], "total_discounts")
        else:
            by_line = sum((self.money(i.get("total_discount"), "total_discount") for i in items), ZERO)
            by_code = sum(
                (
                    self.money(code.get("amount"), "discount_codes.amount")
                    for code in order.get("discount_codes") or []
                ),
                ZERO,
            )
            totals.discounts = by_line or by_code
        totals.shipping = sum(
            (
                self.money(line.get("price"), "shipping_lines.price")
                for line in order.get("shipping_lines") or []
            ),
            ZERO,
        )
        totals.tax = self.money(order.get("total_tax"), "total_tax")
        computed = totals.gross_sales - totals.discounts + totals.shipping
        totals.total = (
            self.money(order["total_price"], "total_price")
            if order.get("total_price") not in (None, "")
            else computed + (ZERO if self.taxes_included else totals.tax)
        )
        revenue = totals.gross_sales
        if self.taxes_included:  # prices include tax: the tax comes out of revenue
            revenue = totals.total + totals.discounts - totals.shipping - totals.tax
            totals.notes.append("prices include tax: revenue is shown net of tax")
        lines = [
            Line(chart.REVENUE, cur, credit=revenue, memo="gross sales"),
            Line(chart.SALES_DISCOUNTS, cur, debit=totals.discounts, memo="discounts"),
            Line(chart.SHIPPING_REVENUE, cur, credit=totals.shipping, memo="shipping"),
            Line(chart.SALES_TAX_PAYABLE, cur, credit=totals.tax, memo="sales tax collected"),
        ]
        for transaction in order.get("transactions") or []:
            if str(transaction.get("kind")).lower() not in _CAPTURES or not _succeeded(transaction):
                continue
            amount = self.money(transaction.get("amount"), "transactions.amount")
            gateway = str(transaction.get("gateway") or "payment")
            totals.paid += amount
            lines.append(
                Line(chart.CASH, cur, debit=amount, memo=f"{gateway} {transaction.get('id') or ''}".strip())
            )
            fee = self.fee(transaction, amount)
            if fee:
                totals.fees += fee
                lines.append(Line(chart.PAYMENT_PROCESSING_FEES, cur, debit=fee, memo=f"{gateway} fee"))
                lines.append(Line(chart.CASH, cur, credit=fee, memo=f"{gateway} fee withheld"))
        totals.receivable = totals.total - totals.paid
        lines.append(
            Line.signed(chart.ACCOUNTS_RECEIVABLE, totals.receivable, cur, "balance due from customer")
        )
        return Entry(
            lines=lines,
            idempotency_key=f"shopify:{self.order_id}:sale",
            entry_date=_day(order, self.today),
            description=f"Shopify order {self.name}",
            source=f"shopify:order:{self.order_id}",
        )

    def fee(self, transaction: dict[str, Any], amount: Decimal) -> Decimal:
        if transaction.get("fee") not in (None, ""):
            return self.money(transaction["fee"], "transactions.fee")
        if isinstance(transaction.get("fees"), list):
            return sum(
                (self.money(fee.get("amount"), "transactions.fees") for fee in transaction["fees"]), ZERO
            )
        if self.fee_rate or self.fee_fixed:
            return round_money(amount * self.fee_rate + self.fee_fixed, self.currency)
        return ZERO

    def refund(self, refund: dict[str, Any]) -> tuple[str, Entry]:
        totals, cur = self.totals, self.currency
        refund_id = str(refund.get("id") or "")
        if not refund_id:
            raise StepFailure("invalid_config", f"a refund of order {self.name} has no id")
        revenue = discount = shipping = tax = discrepancy = cash = ZERO
        for item in refund.get("refund_line_items") or []:
            subtotal = self.money(item.get("subtotal"), "refund_line_items.subtotal")
            item_tax = self.money(item.get("total_tax"), "refund_line_items.total_tax")
            quantity = _quantity(item.get("quantity"), "refund_line_items.quantity")
            price = self.prices.get(str(item.get("line_item_id")))
            if price is None and isinstance(item.get("line_item"), dict):
                price = _amount(item["line_item"].get("price"), "refund_line_items.line_item.price")
            gross = self.money(price * quantity, "refund line") if price is not None else subtotal
            gross = max(gross, subtotal)
            revenue += gross - (item_tax if self.taxes_included else ZERO)
            discount += gross - subtotal
            tax += item_tax
        for adjustment in refund.get("order_adjustments") or []:
            kind = str(adjustment.get("kind") or "")
            value = -self.money(adjustment.get("amount"), "order_adjustments.amount")
            if kind == "shipping_refund":
                shipping += value
                tax += -self.money(adjustment.get("tax_amount"), "order_adjustments.tax_amount")
            elif kind == "refund_discrepancy":
                discrepancy += value
        for transaction in refund.get("transactions") or []:
            if str(transaction.get("kind")).lower() == "refund" and _succeeded(transaction):
                cash += self.money(transaction.get("amount"), "refunds.transactions.amount")
        owed = revenue - discount + shipping + tax + discrepancy - cash
        totals.refunded += cash
        totals.refunded_revenue += revenue - discount + discrepancy
        totals.refunded_shipping += shipping
        totals.refunded_tax += tax
        totals.receivable -= owed
        if discrepancy:
            totals.notes.append(
                f"refund {refund_id}: {money_str(discrepancy, cur)} refunded beyond the items"
            )
        lines = [
            Line(chart.REVENUE, cur, debit=revenue, memo="refunded items"),
            Line(chart.SALES_DISCOUNTS, cur, credit=discount, memo="discount on refunded items"),
            Line.signed(chart.REVENUE, discrepancy, cur, "refund discrepancy"),
            Line(chart.SHIPPING_REVENUE, cur, debit=shipping, memo="refunded shipping"),
            Line.signed(chart.SALES_TAX_PAYABLE, tax, cur, "refunded sales tax"),
            Line(chart.CASH, cur, credit=cash, memo="refund paid out"),
            Line.signed(chart.ACCOUNTS_RECEIVABLE, -owed, cur, "refund not paid in cash"),
        ]
        entry = Entry(
            lines=lines,
            idempotency_key=f"shopify:{self.order_id}:refund:{refund_id}",
            entry_date=_day(refund, self.today),
            description=f"Refund {refund_id} of Shopify order {self.name}",
            source=f"shopify:order:{self.order_id}",
        )
        return refund_id, entry


def _order(config: dict[str, Any]) -> dict[str, Any]:
    order = config.get("order")
    if isinstance(order, str):
        try:
            order = json.loads(order)
        except ValueError:
            raise StepFailure("invalid_config", "order is not JSON") from None
    if isinstance(order, dict) and isinstance(order.get("order"), dict):
        order = order["order"]
    if not isinstance(order, dict) or not order:
        raise StepFailure("invalid_config", "missing order (a Shopify order object)")
    return order


def _fee_setting(config: dict[str, Any], name: str) -> Decimal:
    if config.get(name) in (None, ""):
        return ZERO
    value = _amount(config[name], name)
    if value < 0 or (name == "fee_rate" and value >= 1):
        raise StepFailure("invalid_config", f"{name} must be a fraction between 0 and 1 (0.029 for 2.9%)")
    return value


async def sync_order(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    book = OrderBook(
        _order(config),
        fee_rate=_fee_setting(config, "fee_rate"),
        fee_fixed=_fee_setting(config, "fee_fixed"),
        today=datetime.now(UTC).date(),
    )
    planned: list[tuple[dict[str, Any], Entry]] = [({"kind": "sale"}, book.sale())]
    for refund in book.order.get("refunds") or []:
        if isinstance(refund, dict):
            refund_id, entry = book.refund(refund)
            planned.append(({"kind": "refund", "refund_id": refund_id}, entry))
    # A free order or a refund that moves no money has nothing to post.
    planned = [
        (label, entry) for label, entry in planned if any(line.debit or line.credit for line in entry.lines)
    ]
    entries: list[dict[str, Any]] = []
    try:
        for _, entry in planned:  # every entry must balance before any is written
            checked_lines(entry)
        async with deps.engine.begin() as conn:
            for label, entry in planned:
                posted = await post(conn, request.tenant_id, entry)
                entries.append(label | posted.as_dict())
    except IdempotencyConflict as conflict:
        raise StepFailure(
            "conflict",
            f"order {book.name} was already posted ({conflict.existing.entry_id}) with other amounts:"
            " a change after posting needs an adjustment entry",
        ) from None
    except LedgerError as error:
        raise ledger_failure(error) from None
    return {
        "order_id": book.order_id,
        "order_name": book.name,
        "currency": book.currency,
        "entries": entries,
        "summary": book.totals.as_dict(book.currency),
    }
