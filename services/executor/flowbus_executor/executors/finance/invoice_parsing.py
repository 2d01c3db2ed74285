"""Reading a supplier invoice from its text: vendor, number, dates, currency, line items,
subtotal, tax and total, whichever of several common layouts it uses.

Pure functions over text; the checks and the bill are invoices.py's business."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flowbus_executor.executors.finance.dates import DateOrder, FoundDate, find_dates
from flowbus_executor.executors.finance.money import (
    CURRENCIES,
    DECIMAL_COMMA_CURRENCIES,
    SYMBOLS,
    MoneyError,
    decimal_comma_evidence,
    parse_amount,
)
from flowbus_executor.executors.finance.tokens import (
    amount_tokens,
    items_header,
    parse_item_line,
)


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class ParseOptions:
    date_order: DateOrder | None = None
    decimal_comma: bool | None = None
    currency: str | None = None


@dataclass
class ParsedInvoice:
    vendor: str | None = None
    number: str | None = None
    invoice_date: date | None = None
    due_date: date | None = None
    currency: str | None = None
    lines: list[InvoiceLine] = field(default_factory=list)
    subtotal: Decimal | None = None  # as printed; None when the invoice has no subtotal line
    tax: Decimal | None = None
    tax_rate: Decimal | None = None  # percent
    total: Decimal | None = None
    amount_due: Decimal | None = None
    decimal_comma: bool = False
    notes: list[str] = field(default_factory=list)


_ID = r"(?P<n>[A-Z0-9][A-Z0-9\-/._]*)"
_NUMBER_PATTERNS = [
    re.compile(r"\binvoice\s*(?:#|(?:number|num|no|nr|id)\b\.?|n[°º])\s*[:#.]?\s*#?\s*" + _ID, re.IGNORECASE),
    re.compile(
        r"\b(?:rechnungs?-?(?:nummer|nr\b\.?)|facture\s*n[°º]?|factura\s*n[°º.]?)\s*[:#]?\s*" + _ID,
        re.IGNORECASE,
    ),
    re.compile(r"\binvoice\s*[:#]\s*" + _ID, re.IGNORECASE),
    re.compile(r"\b(?P<n>INV[-/_]?\d[A-Z0-9\-/_]*)", re.IGNORECASE),
]
_VENDOR_LABEL = re.compile(
    r"^\s*(?:from|vendor|supplier|seller|sold\s+by|billed?\s+by|issued\s+by|company)\s*:\s*(?P<v>.*)$",
    re.IGNORECASE,
)
_NOT_VENDOR = re.compile(
    r"^\s*(?:(?:tax\s+)?invoice|rechnung|facture|factura|bill(?:ed)?\s+to|ship\s+to|sold\s+to|to\b|date|"
    r"due|page|customer|client|attn|phone|tel|fax|email|e-mail|www\.|http|vat|tax\s+id|iban|p\.?o\.?\s+box)",
    re.IGNORECASE,
)
_DUE_LABEL = re.compile(
    r"\b(?:due\s+date|date\s+due|payment\s+due|due\s+on|due\s+by|pay\s+by|f[äa]llig\w*|due)\b", re.IGNORECASE
)
_DATE_LABEL = re.compile(
    r"\b(?:invoice\s+date|date\s+of\s+issue|issue\s+date|issued(?:\s+on)?|billing\s+date|"
    r"rechnungsdatum|datum|date)\b",
    re.IGNORECASE,
)
_POSITION_HEADERS = frozenset(["pos", "#", "no", "nr", "line", "item#", "s/n", "sn"])
_TERMS = re.compile(r"\b(?:net\s*(?P<a>\d{1,3})\b|(?P<b>\d{1,3})\s+days\b)", re.IGNORECASE)
_RATE = re.compile(r"(?P<r>\d{1,2}(?:[.,]\d{1,3})?)\s*%")

# Summary lines of an invoice, tested in this order (a "Total excl. VAT" is a subtotal).
_KINDS = [
    (
        "subtotal",
        re.compile(
            r"^(?:sub[\s-]?total|net\s+(?:amount|total)|total\s+net|total\s+(?:excl|excluding|before|ex)\b|"
            r"amount\s+before\s+tax|zwischensumme|nettobetrag|netto|total\s+ht|sous-total)",
            re.IGNORECASE,
        ),
    ),
    (
        "tax",
        re.compile(
            r"^(?:total\s+)?(?:sales\s+tax|tax|vat|gst|hst|pst|mwst|ust|iva|tva|btw)\b", re.IGNORECASE
        ),
    ),
    ("paid", re.compile(r"^(?:amount\s+paid|paid|payments?|less\s+(?:payment|deposit))\b", re.IGNORECASE)),
    ("due", re.compile(r"^(?:amount\s+due|balance\s+due|due\s+amount|please\s+pay)\b", re.IGNORECASE)),
    (
        "total",
        re.compile(
            r"^(?:grand\s+total|invoice\s+total|total\s+(?:amount|due|payable|incl\w*|ttc)|amount\s+payable|"
            r"gesamtbetrag|gesamtsumme|bruttobetrag|rechnungsbetrag|total)\b",
            re.IGNORECASE,
        ),
    ),
]


def text_lines(text: str) -> list[str]:
    cleaned = text.replace("\r", "\n").replace("\xa0", " ").replace("\t", "    ")
    return [line.rstrip() for line in cleaned.split("\n") if line.strip()]


def detect_currency(text: str) -> str | None:
    """A labelled currency, else the ISO code printed most next to amounts, else a symbol."""
    labelled = re.search(r"\bcurrency\s*[:\-]?\s*([A-Z]{3})\b", text, re.IGNORECASE)
    if labelled and labelled.group(1).upper() in CURRENCIES:
        return labelled.group(1).upper()
    near = re.findall(r"\b([A-Z]{3})[ \t]*\(?[-\d]|\d\)?[ \t]*([A-Z]{3})\b", text)
    codes: Counter[str] = Counter(str(code) for pair in near for code in pair if code in CURRENCIES)
    if codes:
        return codes.most_common(1)[0][0]
    rest = text
    for symbol in sorted(SYMBOLS, key=len, reverse=True):
        if symbol in rest:
            return SYMBOLS[symbol]
        rest = rest.replace(symbol, " ")
    return None


def summary_kind(line: str) -> str | None:
    stripped = line.strip().lstrip("*-•").strip()
    for kind, pattern in _KINDS:
        if pattern.match(stripped):
            return kind
    return None


def parse_invoice(text: str, options: ParseOptions) -> ParsedInvoice:
    lines = text_lines(text)
    invoice = ParsedInvoice()
    invoice.currency = options.currency or detect_currency(text)
    if options.decimal_comma is not None:
        invoice.decimal_comma = options.decimal_comma
    else:
        evidence = decimal_comma_evidence(text)
        invoice.decimal_comma = evidence > 0 or (
            evidence == 0 and invoice.currency in DECIMAL_COMMA_CURRENCIES
        )
    invoice.vendor = _vendor(lines)
    invoice.number = _number(lines)
    _dates(lines, invoice, options)
    _summary(lines, invoice)
    invoice.lines = _items(lines, invoice.decimal_comma)
    return invoice


def _number(lines: list[str]) -> str | None:
    for pattern in _NUMBER_PATTERNS:
        for line in lines:
            for match in pattern.finditer(line):
                candidate = match.group("n").rstrip("./-_")
                if any(char.isdigit() for char in candidate):
                    return candidate
    return None


def _vendor(lines: list[str]) -> str | None:
    for index, line in enumerate(lines):
        labelled = _VENDOR_LABEL.match(line)
        if labelled:
            name = _first_column(labelled.group("v"))
            if name:
                return name
            if index + 1 < len(lines):
                return _first_column(lines[index + 1])
    for line in lines[:10]:
        candidate = re.sub(r"\b(?:tax\s+)?invoice\b|\brechnung\b|\bfacture\b", " ", line, flags=re.IGNORECASE)
        candidate = _first_column(candidate)
        if (
            candidate
            and re.search(r"[A-Za-zÀ-ÿ]{2}", candidate)
            and not _NOT_VENDOR.match(candidate)
            and not _NUMBER_PATTERNS[3].search(candidate)
            and not re.match(r"^\d", candidate)
            and "@" not in candidate
        ):
            return candidate
    return None


def _first_column(text: str) -> str:
    """The text before a wide gap (two-column headers put the vendor on the left)."""
    return re.split(r"\s{3,}", text.strip())[0].strip(" :,-")


def _dates(lines: list[str], invoice: ParsedInvoice, options: ParseOptions) -> None:
    default_order: DateOrder = options.date_order or ("MDY" if invoice.currency == "USD" else "DMY")
    labelled: dict[str, FoundDate] = {}
    unlabelled: list[FoundDate] = []
    pending_labels: list[str] = []
    for line in lines:
        found = find_dates(line, order=options.date_order, default_order=default_order)
        labels = _labels(line)
        if labels and not found:
            pending_labels = [kind for _, kind in labels]
            continue
        if found and not labels and len(pending_labels) == len(found):
            for kind, item in zip(pending_labels, found, strict=True):
                labelled.setdefault(kind, item)
        else:
            for item in found:
                before = [kind for end, kind in labels if end <= item.start]
                if before:
                    labelled.setdefault(before[-1], item)
                else:
                    unlabelled.append(item)
        pending_labels = []
    issued = labelled.get("date") or (unlabelled[0] if unlabelled else None)
    due = labelled.get("due")
    for chosen in (issued, due):
        if chosen is not None and chosen.ambiguous:
            invoice.notes.append(
                f"date {chosen.text} read as {default_order}: set config date_order to be sure"
            )
    invoice.invoice_date = issued.value if issued else None
    invoice.due_date = due.value if due else None
    if invoice.due_date is None and invoice.invoice_date is not None:
        for line in lines:
            terms = (
                _TERMS.search(line) if re.search(r"terms|net|payable|within", line, re.IGNORECASE) else None
            )
            if terms:
                days = int(terms.group("a") or terms.group("b"))
                invoice.due_date = invoice.invoice_date + timedelta(days=days)
                invoice.notes.append(f"due date computed from payment terms ({days} days)")
                break


def _labels(line: str) -> list[tuple[int, str]]:
    """(end, "due" | "date") of the date labels on the line, left to right."""
    dues = [(match.start(), match.end()) for match in _DUE_LABEL.finditer(line)]
    found = [(end, "due") for _, end in dues]
    for match in _DATE_LABEL.finditer(line):
        if not any(match.start() < end and start < match.end() for start, end in dues):
            found.append((match.end(), "date"))
    return sorted(found)


def _summary(lines: list[str], invoice: ParsedInvoice) -> None:
    taxes: list[Decimal] = []
    rates: list[Decimal] = []
    for line in lines:
        kind = summary_kind(line)
        if kind is None:
            continue
        amounts = amount_tokens(line, invoice.decimal_comma)
        if not amounts:
            continue
        value = amounts[-1]
        if kind == "subtotal" and invoice.subtotal is None:
            invoice.subtotal = value
        elif kind == "tax":
            taxes.append(value)
            rate = _RATE.search(line)
            if rate:
                rates.append(parse_amount(rate.group("r"), decimal_comma="," in rate.group("r")))
        elif kind == "total" and invoice.total is None:
            invoice.total = value
        elif kind == "due" and invoice.amount_due is None:
            invoice.amount_due = value
    if taxes:
        invoice.tax = sum(taxes, Decimal(0))
        invoice.tax_rate = rates[0] if len(rates) == 1 and len(taxes) == 1 else None


def _items(lines: list[str], decimal_comma: bool) -> list[InvoiceLine]:
    """Rows of the items table: after its header up to the first summary line; without a
    header, only rows whose quantity x unit price makes their amount."""
    header = next((index for index, line in enumerate(lines) if items_header(line)), None)
    start = 0 if header is None else header + 1
    qty_first = header is not None and items_header(lines[header]) == "qty_first"
    numbered = header is not None and lines[header].split()[0].lower().strip(".:") in _POSITION_HEADERS
    items: list[InvoiceLine] = []
    for line in lines[start:]:
        if summary_kind(line) is not None:
            if header is not None or items:
                break
            continue
        if header is None and (_labels(line) or _VENDOR_LABEL.match(line) or ":" in line):
            continue
        try:
            parsed = parse_item_line(
                line, decimal_comma, qty_first=qty_first, numbered=numbered, strict=header is None
            )
        except MoneyError:
            continue
        if parsed is not None:
            items.append(InvoiceLine(*parsed))
    return items
