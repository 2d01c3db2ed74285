"""invoice_reconciliation: which payments settle which invoices, and what does not add up.

Config parsing and the report; the matching itself is in `matching`. A match's payments are
applied to its invoices oldest due first (FIFO). When the match's total is within tolerance every
invoice counts as paid in full and the last one carries the rounding difference; otherwise the
shortfall (or surplus) shows on the invoices that carry it, as `underpaid` (or `overpaid`)
discrepancies. A match mixing currencies is never converted: its amounts stay as given, its
`difference` is null and it is a `currency_mismatch`. A referenced payment outside the invoice's
window is an `outside_window` discrepancy.

Totals are per currency (`by_currency`); the top-level totals are set when there is one currency
and null when several are mixed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from flowbus_executor.executors.analysis.matching import Invoice, Match, Options, Payment, reconcile
from flowbus_executor.executors.analysis.money import (
    format_money,
    identifier,
    optional_date,
    parse_bool,
    parse_currency,
    parse_date,
    parse_int,
    parse_money,
    records,
    setting,
    single_currency,
    text_of,
    totals,
)


def options_from(config: Mapping[str, Any]) -> Options:
    tolerance = setting(config, "amount_tolerance")
    percent = setting(config, "percent_tolerance")
    days = setting(config, "date_window_days")
    partial = setting(config, "match_partial")
    return Options(
        amount_tolerance=Decimal("0.01")
        if tolerance is None
        else parse_money(tolerance, "amount_tolerance", minimum=Decimal(0)),
        percent_tolerance=None
        if percent is None
        else parse_money(percent, "percent_tolerance", minimum=Decimal(0)),
        date_window_days=30 if days is None else parse_int(days, "date_window_days"),
        match_partial=True if partial is None else parse_bool(partial, "match_partial"),
    )


def _currency(item: Mapping[str, Any], field: str, default: Any) -> str:
    return parse_currency(item.get("currency") or default, f"{field}.currency")


def invoices_from(config: Mapping[str, Any]) -> list[Invoice]:
    """`invoices`: [{id, number?, customer?|vendor?, amount, currency, date, due_date?}]."""
    seen: set[str] = set()
    result = []
    for index, item in enumerate(records(config, "invoices")):
        field = f"invoices[{index}]"
        result.append(
            Invoice(
                id=identifier(item, field, seen),
                amount=parse_money(item.get("amount"), f"{field}.amount"),
                currency=_currency(item, field, config.get("currency")),
                date=parse_date(item.get("date"), f"{field}.date"),
                number=text_of(item, "number"),
                party=text_of(item, "customer") or text_of(item, "vendor"),
                due_date=optional_date(item, "due_date", field),
            )
        )
    return result


def payments_from(config: Mapping[str, Any]) -> list[Payment]:
    """`payments`: [{id, amount, currency, date, reference?, payer?}]."""
    seen: set[str] = set()
    result = []
    for index, item in enumerate(records(config, "payments")):
        field = f"payments[{index}]"
        result.append(
            Payment(
                id=identifier(item, field, seen),
                amount=parse_money(item.get("amount"), f"{field}.amount"),
                currency=_currency(item, field, config.get("currency")),
                date=parse_date(item.get("date"), f"{field}.date"),
                reference=text_of(item, "reference"),
                payer=text_of(item, "payer"),
            )
        )
    return result


def invoice_view(invoice: Invoice) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": invoice.id,
        "number": invoice.number,
        "customer": invoice.party,
        "amount": format_money(invoice.amount),
        "currency": invoice.currency,
        "date": invoice.date.isoformat(),
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
    }
    return view


def payment_view(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "amount": format_money(payment.amount),
        "currency": payment.currency,
        "date": payment.date.isoformat(),
        "reference": payment.reference,
        "payer": payment.payer,
    }


def _settle(
    match: Match, invoices: Sequence[Invoice], payments: Sequence[Payment], options: Options
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The matched entries (one per invoice) and the discrepancies of one match."""
    group = sorted(
        match.invoices, key=lambda i: (invoices[i].due_date or invoices[i].date, invoices[i].date, i)
    )
    paying = sorted(match.payments, key=lambda p: (payments[p].date, p))
    payment_ids = [payments[p].id for p in paying]
    invoice_ids = [invoices[i].id for i in group]
    base: dict[str, Any] = {"payment_ids": payment_ids}
    together = {"invoice_ids": invoice_ids} if len(group) > 1 else {}
    paid = sum((payments[p].amount for p in paying), Decimal(0))
    paid_currencies = sorted({payments[p].currency for p in paying})
    currencies = {invoices[i].currency for i in group} | set(paid_currencies)
    entries: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    if len(currencies) > 1:
        for i in group:
            entries.append(
                {
                    "invoice_id": invoices[i].id,
                    **together,
                    **base,
                    "invoice_amount": format_money(invoices[i].amount),
                    "paid_amount": format_money(paid) if len(paid_currencies) == 1 else None,
                    "difference": None,
                    "rule": match.rule,
                    "currency": invoices[i].currency,
                    "paid_currency": paid_currencies[0] if len(paid_currencies) == 1 else None,
                }
            )
        problems.append(
            {
                "invoice_id": invoice_ids[0],
                **together,
                "payment_ids": payment_ids,
                "difference": None,
                "reason": "currency_mismatch",
            }
        )
    else:
        invoiced = sum((invoices[i].amount for i in group), Decimal(0))
        settled = abs(paid - invoiced) <= options.tolerance(invoiced)
        remaining = paid
        for position, i in enumerate(group):
            amount = invoices[i].amount
            if position == len(group) - 1:
                applied = remaining
            elif settled:
                applied = amount
            else:
                applied = min(max(remaining, Decimal(0)), max(amount, Decimal(0)))
            remaining -= applied
            difference = applied - amount
            entries.append(
                {
                    "invoice_id": invoices[i].id,
                    **together,
                    **base,
                    "invoice_amount": format_money(amount),
                    "paid_amount": format_money(applied),
                    "difference": format_money(difference),
                    "rule": match.rule,
                    "currency": invoices[i].currency,
                }
            )
            if not settled and difference != 0:
                reason = "underpaid" if difference < 0 else "overpaid"
                problems.append(
                    {
                        "invoice_id": invoices[i].id,
                        "payment_ids": payment_ids,
                        "difference": format_money(difference),
                        "reason": reason,
                    }
                )
        late = [
            payments[p].id
            for p in paying
            if not any(options.in_window(invoices[i], payments[p]) for i in group)
        ]
        if late:
            problems.append(
                {
                    "invoice_id": invoice_ids[0],
                    **together,
                    "payment_ids": late,
                    "difference": format_money(paid - invoiced),
                    "reason": "outside_window",
                }
            )
    flagged = {str(problem["invoice_id"]) for problem in problems} | {
        str(id_) for problem in problems for id_ in problem.get("invoice_ids", [])
    }
    for entry in entries:
        entry["status"] = "discrepancy" if str(entry["invoice_id"]) in flagged else "reconciled"
    return entries, problems


def report(
    invoices: Sequence[Invoice], payments: Sequence[Payment], matches: Sequence[Match], options: Options
) -> dict[str, Any]:
    """The step's output for a finished matching."""
    matched: list[dict[str, Any]] = []
    discrepancies: list[dict[str, Any]] = []
    for match in sorted(matches, key=lambda match: min(match.invoices)):
        entries, problems = _settle(match, invoices, payments, options)
        matched.extend(entries)
        discrepancies.extend(problems)
    used_invoices = {i for match in matches for i in match.invoices}
    used_payments = {p for match in matches for p in match.payments}
    open_invoices = [invoice for i, invoice in enumerate(invoices) if i not in used_invoices]
    open_payments = [payment for p, payment in enumerate(payments) if p not in used_payments]
    by_currency = _by_currency(invoices, payments, open_invoices, open_payments)
    currency = single_currency(by_currency)
    one = by_currency[currency] if currency else None
    summary: dict[str, Any] = {
        "invoices": len(invoices),
        "payments": len(payments),
        "matched": len(used_invoices),
        "matched_payments": len(used_payments),
        "unmatched_invoices": len(open_invoices),
        "unmatched_payments": len(open_payments),
        "discrepancies": len(discrepancies),
        "currency": currency,
    }
    for name in ("invoiced", "paid", "unmatched", "unapplied"):
        summary[f"total_{name}"] = one[name] if one else ("0.00" if not by_currency else None)
    summary["by_currency"] = by_currency
    return {
        "matched": matched,
        "unmatched_invoices": [invoice_view(invoice) for invoice in open_invoices],
        "unmatched_payments": [payment_view(payment) for payment in open_payments],
        "discrepancies": discrepancies,
        "summary": summary,
    }


def _by_currency(
    invoices: Sequence[Invoice],
    payments: Sequence[Payment],
    open_invoices: Sequence[Invoice],
    open_payments: Sequence[Payment],
) -> dict[str, dict[str, str]]:
    """Per currency: invoiced, paid (all payments), unmatched (invoices), unapplied (payments)."""
    sums = {
        "invoiced": totals((invoice.currency, invoice.amount) for invoice in invoices),
        "paid": totals((payment.currency, payment.amount) for payment in payments),
        "unmatched": totals((invoice.currency, invoice.amount) for invoice in open_invoices),
        "unapplied": totals((payment.currency, payment.amount) for payment in open_payments),
    }
    currencies = sorted(set(sums["invoiced"]) | set(sums["paid"]))
    return {
        currency: {name: format_money(values.get(currency, Decimal(0))) for name, values in sums.items()}
        for currency in currencies
    }


def reconcile_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The whole step over a config: parse, match, report."""
    invoices = invoices_from(config)
    payments = payments_from(config)
    options = options_from(config)
    return report(invoices, payments, reconcile(invoices, payments, options), options)
