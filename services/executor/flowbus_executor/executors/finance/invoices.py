"""invoice_processing: read a supplier invoice (text or PDF), check that it adds up, and
book it as a bill: debit the expense account (net), debit VAT Receivable (input tax),
credit Accounts Payable (total). A credit note (negative total) books the reverse.

config: `text` or `pdf_base64`; `vendor`, `invoice_number`, `currency` (override what the
document says); `date_order` "DMY" | "MDY"; `decimal_comma` (bool); `allow_mismatch`
(default false); `expense_account` (default 6000), `tax_account` (default 1300),
`payable_account` (default 2000).
output: {vendor, invoice_number, invoice_date, due_date, currency, lines, subtotal,
tax: {rate, amount}, total, checks, adds_up, notes, bill: {entry_id, date, posted_now, lines}}.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pypdf
from pypdf.errors import PyPdfError

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.finance import chart
from flowbus_executor.executors.finance.config import flag, iso_currency, ledger_failure, text
from flowbus_executor.executors.finance.invoice_parsing import ParsedInvoice, ParseOptions, parse_invoice
from flowbus_executor.executors.finance.ledger import Entry, IdempotencyConflict, LedgerError, Line, post
from flowbus_executor.executors.finance.money import ZERO, money_str, round_money
from flowbus_executor.executors.finance.tokens import close
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure

MAX_PDF_BYTES = 20 * 1024 * 1024


def pdf_text(encoded: str) -> str:
    """The text of every page of a base64-encoded PDF, pages separated by newlines."""
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise StepFailure("invalid_config", "pdf_base64 is not valid base64") from None
    if len(data) > MAX_PDF_BYTES:
        raise StepFailure("invalid_config", f"the PDF is larger than {MAX_PDF_BYTES // 1024 // 1024} MB")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError) as error:
        raise StepFailure("invalid_config", f"pdf_base64 is not a readable PDF: {error}") from None
    content = "\n".join(pages)
    if not content.strip():
        raise StepFailure("unreadable_invoice", "the PDF has no text layer (a scan?): nothing to read")
    return content


def parse_options(config: dict[str, Any]) -> ParseOptions:
    order = text(config, "date_order")
    if order is not None and order.upper() not in ("DMY", "MDY"):
        raise StepFailure("invalid_config", "date_order must be DMY or MDY")
    comma = flag(config, "decimal_comma") if config.get("decimal_comma") not in (None, "") else None
    code = iso_currency(config) if config.get("currency") else None
    return ParseOptions(
        date_order="DMY" if order and order.upper() == "DMY" else "MDY" if order else None,
        decimal_comma=comma,
        currency=code,
    )


def checks(invoice: ParsedInvoice, subtotal: Decimal, tax: Decimal, total: Decimal) -> list[dict[str, Any]]:
    """Each line's quantity x unit price against its amount, the lines against the subtotal,
    subtotal + tax against the total (blocking, to 0.01), and the tax rate (informative)."""
    currency = invoice.currency
    results: list[dict[str, Any]] = []

    def check(name: str, expected: Decimal, actual: Decimal, *, blocking: bool = True, **extra: Any) -> None:
        results.append(
            {
                "name": name,
                **extra,
                "expected": money_str(round_money(expected, currency or "USD"), currency),
                "actual": money_str(actual, currency),
                "difference": money_str(round_money(actual - expected, currency or "USD"), currency),
                "ok": close(expected, actual),
                "blocking": blocking,
            }
        )

    for number, line in enumerate(invoice.lines, start=1):
        check("line_amount", line.quantity * line.unit_price, line.amount, line=number)
    if invoice.lines and invoice.subtotal is not None:
        check("lines_sum_to_subtotal", invoice.subtotal, sum((line.amount for line in invoice.lines), ZERO))
    check("subtotal_plus_tax_is_total", total, subtotal + tax)
    if invoice.tax_rate is not None:
        check("tax_rate", subtotal * invoice.tax_rate / 100, tax, blocking=False, rate=str(invoice.tax_rate))
    return results


def _mismatch(results: list[dict[str, Any]]) -> str:
    parts = []
    for item in results:
        if item["blocking"] and not item["ok"]:
            where = f" (line {item['line']})" if "line" in item else ""
            parts.append(
                f"{item['name']}{where}: expected {item['expected']}, found {item['actual']}"
                f" (difference {item['difference']})"
            )
    return "; ".join(parts)


def _vendor_key(vendor: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", vendor.lower()).strip("-")[:150] or "vendor"


async def process_invoice(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    raw = text(config, "text", limit=2_000_000)
    encoded = text(config, "pdf_base64", limit=30_000_000)
    if raw is None and encoded is None:
        raise StepFailure("invalid_config", "missing text or pdf_base64")
    options = parse_options(config)
    content = raw if raw is not None else await asyncio.to_thread(pdf_text, encoded or "")
    invoice = parse_invoice(content, options)
    invoice.vendor = text(config, "vendor", limit=300) or invoice.vendor
    invoice.number = text(config, "invoice_number", limit=100) or invoice.number
    missing = [
        name
        for name, value in (
            ("vendor", invoice.vendor),
            ("invoice number", invoice.number),
            ("currency", invoice.currency),
            (
                "total",
                next(
                    (v for v in (invoice.total, invoice.amount_due, invoice.subtotal) if v is not None), None
                ),
            ),
        )
        if value is None
    ]
    if missing:
        raise StepFailure(
            "unparseable_invoice",
            f"could not find the {', '.join(missing)} on the invoice (set them in config to supply them)",
        )
    currency = invoice.currency or ""
    tax = invoice.tax or ZERO
    subtotal = invoice.subtotal
    if subtotal is None:
        if invoice.lines:
            subtotal = sum((line.amount for line in invoice.lines), ZERO)
            invoice.notes.append("no subtotal printed: the sum of the lines is used")
        else:
            subtotal = (invoice.total or ZERO) - tax
    total = invoice.total
    if total is None and invoice.amount_due is not None:
        total = invoice.amount_due
        invoice.notes.append("no total printed: the amount due is used")
    if total is None:
        total = subtotal + tax
        invoice.notes.append("no total printed: subtotal + tax is used")
    results = checks(invoice, subtotal, tax, total)
    adds_up = all(item["ok"] for item in results if item["blocking"])
    if not adds_up and not flag(config, "allow_mismatch"):
        raise StepFailure("invoice_does_not_add_up", f"invoice {invoice.number}: {_mismatch(results)}")
    bill = await _book(deps, request, invoice, round_money(total, currency), round_money(tax, currency))
    return {
        "vendor": invoice.vendor,
        "invoice_number": invoice.number,
        "invoice_date": invoice.invoice_date.isoformat() if invoice.invoice_date else None,
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "currency": currency,
        "lines": [
            {
                "description": line.description,
                "quantity": str(line.quantity),
                "unit_price": money_str(line.unit_price, currency),
                "amount": money_str(line.amount, currency),
            }
            for line in invoice.lines
        ],
        "subtotal": money_str(subtotal, currency),
        "tax": {
            "rate": str(invoice.tax_rate) if invoice.tax_rate is not None else None,
            "amount": money_str(tax, currency),
        },
        "total": money_str(total, currency),
        "checks": results,
        "adds_up": adds_up,
        "notes": invoice.notes,
        "bill": bill,
    }


async def _book(
    deps: ExecutorDeps, request: StepRequest, invoice: ParsedInvoice, total: Decimal, tax: Decimal
) -> dict[str, Any]:
    """The bill's journal entry, posted once per vendor and invoice number. Net is total - tax,
    so the entry balances to the amount the vendor asks for even when a mismatch is allowed."""
    config = request.config
    currency, vendor, number = invoice.currency or "", invoice.vendor or "", invoice.number or ""
    expense = text(config, "expense_account", default=chart.OPERATING_EXPENSES, limit=20) or ""
    tax_account = text(config, "tax_account", default=chart.VAT_RECEIVABLE, limit=20) or ""
    payable = text(config, "payable_account", default=chart.ACCOUNTS_PAYABLE, limit=20) or ""
    entry = Entry(
        lines=[
            Line.signed(expense, total - tax, currency, f"{vendor} invoice {number}"),
            Line.signed(tax_account, tax, currency, "input tax"),
            Line.signed(payable, -total, currency, f"due to {vendor}"),
        ],
        idempotency_key=f"bill:{_vendor_key(vendor)}:{number}",
        entry_date=invoice.invoice_date or datetime.now(UTC).date(),
        description=f"Bill {number} from {vendor}",
        source=f"invoice:{vendor}:{number}",
    )
    try:
        posted = await post(deps.engine, request.tenant_id, entry)
    except IdempotencyConflict as conflict:
        raise StepFailure(
            "duplicate_invoice",
            f"invoice {number} from {vendor} was already booked as {conflict.existing.entry_id}"
            " with other amounts",
        ) from None
    except LedgerError as error:
        raise ledger_failure(error) from None
    return posted.as_dict()
