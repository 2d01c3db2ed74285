"""Finding a purchase order in an email: its number, the customer, the ordered items and
the total the customer states. Pure functions over the subject, body and sender."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import parseaddr

from flowbus_executor.executors.finance.invoice_parsing import detect_currency, summary_kind, text_lines
from flowbus_executor.executors.finance.money import MoneyError, decimal_comma_evidence
from flowbus_executor.executors.finance.tokens import amount_tokens, items_header, parse_item_line

_DIGIT_ID = r"(?P<n>(?=[\w\-/]*\d)[A-Z0-9][\w\-/]*)"
_PO_PATTERNS = [
    re.compile(r"\b(?P<n>PO[-_/]\d[\w\-/]*)", re.IGNORECASE),
    re.compile(r"\bP\.\s?O\.\s*(?:#|(?:no|nr|number)\b\.?)?\s*[:#]?\s*#?\s*" + _DIGIT_ID, re.IGNORECASE),
    re.compile(r"\bPO\s*(?:#|(?:no|nr|number|num)\b\.?)\s*[:#]?\s*#?\s*" + _DIGIT_ID, re.IGNORECASE),
    re.compile(
        r"\bpurchase\s+order\s*(?:#|(?:no|nr|number|num)\b\.?)?\s*[:#]?\s*#?\s*" + _DIGIT_ID, re.IGNORECASE
    ),
    re.compile(r"\bPO\s?(?P<n>\d{4,}[\w\-/]*)\b"),
]
_SIGNOFF = re.compile(
    r"(?:--|(?:(?:best|kind|warm)\s+)?(?:regards|thanks|thank\s+you|cheers|sincerely|best))[,.!]*",
    re.IGNORECASE,
)
_COMPANY = re.compile(
    r"\b(?:inc|llc|ltd|limited|gmbh|corp|corporation|co|company|s\.?a|b\.?v|plc|ag|pty|sarl|srl|"
    r"industries|group|holdings|enterprises|trading|manufacturing)\b\.?",
    re.IGNORECASE,
)
_LABEL = re.compile(
    r"^\s*(?:company|customer|client|buyer|bill\s+to|ship\s+to|organi[sz]ation)\s*:\s*(?P<v>.+)$", re.I
)
_CONTACT_LINE = re.compile(
    r"@|https?://|www\.|\b(?:tel|phone|mobile|fax)\b|^\+?[\d\s()./-]{7,}$|"
    r"\b(?:manager|director|officer|buyer|procurement|purchasing|head\s+of|vp|assistant|coordinator)\b",
    re.IGNORECASE,
)
_FREE_MAIL = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "protonmail.com",
        "proton.me",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "yandex.ru",
    ]
)
_SKU = re.compile(r"^(?P<sku>[A-Z]{2,}[-_]?\d[\w-]*|\d{3,}-\d+)\s+(?P<rest>.+)$")


@dataclass(frozen=True)
class OrderLine:
    description: str
    sku: str | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass
class FoundOrder:
    po_number: str | None = None
    customer: str | None = None
    customer_source: str = "sender"
    contact: str | None = None
    email: str = ""
    currency: str | None = None
    lines: list[OrderLine] = field(default_factory=list)
    stated_total: Decimal | None = None
    decimal_comma: bool = False


def plain_text(body: str) -> str:
    """An HTML body as text lines (cells spaced apart); plain text unchanged."""
    if not re.search(r"<(?:br|p|div|table|tr|td|html|body)\b", body, re.IGNORECASE):
        return body
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", body)
    text = re.sub(r"(?i)<br\s*/?>|</(?:p|div|tr|li|h\d)>", "\n", text)
    text = re.sub(r"(?i)</t[dh]>", "   ", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def po_number(*texts: str) -> str | None:
    for text in texts:
        for pattern in _PO_PATTERNS:
            match = pattern.search(text)
            if match:
                return match.group("n").rstrip(".-/")
    return None


def _is_signoff(line: str) -> bool:
    """Whether the line opens a signature: "Best regards,", "Thanks!", "--"."""
    stripped = line.strip()
    return len(stripped) <= 40 and _SIGNOFF.fullmatch(stripped) is not None


def _signature(lines: list[str]) -> list[str]:
    for index in range(len(lines) - 1, -1, -1):
        if _is_signoff(lines[index]):
            return lines[index + 1 : index + 7]
    return []


def _domain_name(domain: str) -> str:
    core = re.sub(r"\.(?:co|com|org|net|gov|ac)?\.?[a-z]{2,3}$", "", domain.lower())
    core = core.split(".")[-1]
    return " ".join(part.capitalize() for part in re.split(r"[-_]+", core) if part)


def customer_of(lines: list[str], sender: str, found: FoundOrder) -> None:
    """The customer from a `Company:` label, else the signature's company line, else the
    sender's domain, else the sender."""
    display, address = parseaddr(sender)
    found.email = address or sender
    for line in lines:
        labelled = _LABEL.match(line)
        if labelled:
            found.customer, found.customer_source = labelled.group("v").strip(), "label"
            return
    signature = [line.strip() for line in _signature(lines) if line.strip()]
    if signature:
        found.contact = signature[0]
        company = next((line for line in signature if _COMPANY.search(line) and "@" not in line), None)
        if company is None:
            company = next((line for line in signature[1:] if not _CONTACT_LINE.search(line)), None)
        if company:
            found.customer, found.customer_source = company, "signature"
            return
    domain = address.rpartition("@")[2].lower()
    if domain and domain not in _FREE_MAIL:
        found.customer, found.customer_source = _domain_name(domain), "domain"
        return
    found.customer, found.customer_source = display or address or sender or "unknown", "sender"


def find_order(subject: str, body: str, sender: str, *, decimal_comma: bool | None = None) -> FoundOrder:
    text = plain_text(body)
    lines = [line for line in text_lines(text) if not line.lstrip().startswith(">")]
    found = FoundOrder(po_number=po_number(subject, text))
    found.decimal_comma = decimal_comma if decimal_comma is not None else decimal_comma_evidence(text) > 0
    found.currency = detect_currency(text)
    customer_of(lines, sender, found)
    header = next((index for index, line in enumerate(lines) if items_header(line)), None)
    qty_first = header is not None and items_header(lines[header]) == "qty_first"
    signoff = next((index for index, line in enumerate(lines) if _is_signoff(line)), len(lines))
    for index, line in enumerate(lines[:signoff]):
        kind = summary_kind(line)
        if kind is not None:
            amounts = amount_tokens(line, found.decimal_comma)
            if kind in ("total", "due") and amounts and found.stated_total is None:
                found.stated_total = amounts[-1]
            continue
        if (
            index == header
            or _LABEL.match(line)
            or _PO_PATTERNS[1].search(line)
            or not _orderish(line, index, header)
        ):
            continue
        try:
            item = parse_item_line(line, found.decimal_comma, qty_first=qty_first, two_numbers="qty_price")
        except MoneyError:
            continue
        if item is not None and item[1] > 0:
            description, quantity, unit, amount = item
            sku = _SKU.match(description)
            found.lines.append(
                OrderLine(
                    sku.group("rest").strip(" -:") if sku else description,
                    sku.group("sku") if sku else None,
                    quantity,
                    unit,
                    amount,
                )
            )
    return found


def _orderish(line: str, index: int, header: int | None) -> bool:
    """Whether a line may be an order line: in a table under a header, or written like one
    ("2 x ...", "qty 10", a SKU, or a price with a currency sign or two decimals)."""
    if header is not None and index > header:
        return True
    return bool(
        re.search(
            r"\d\s*(?:x|\u00d7)\s|\bqty\b|\bquantity\b|@|\beach\b|^\s*[-*\u2022]?\s*[A-Z]{2,}[-_]?\d",
            line,
            re.I,
        )
        or re.search(r"[$\u20ac\u00a3]\s?\d|\d[.,]\d{2}\b", line)
    )
