"""Amounts and item rows in document text, shared by invoice and purchase-order reading:
"$1,234.56", "1.234,56 €", "USD 45", "2 x Widget A @ 12.50", "Widget B  qty 10  unit price 3.20",
"Printer paper   10   4.50   45.00", "10  Printer paper  4.50  45.00"."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal, NamedTuple

from flowbus_executor.executors.finance.money import CURRENCIES, SYMBOLS, MoneyError, parse_amount

Item = tuple[str, Decimal, Decimal, Decimal]  # description, quantity, unit price, amount
TwoNumbers = Literal["qty_amount", "qty_price"]

TOLERANCE = Decimal("0.01")
MAX_ROW = 400  # characters: longer lines are prose, not item rows
_PLAIN = re.compile(r"^(?:\d{1,3}(?:[.,']\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)$")
_SYMBOL_LIST = sorted(SYMBOLS, key=len, reverse=True)
_UNIT_WORDS = frozenset(
    re.findall(
        r"\w+", "h hr hrs hour hours pc pcs piece pieces ea each unit units stk kg m x days day month months"
    )
)
_MULTIPLY = re.compile(
    r"^\s*(?P<q>\d+(?:[.,]\d+)?)\s*(?:x|\u00d7|\*|pcs?\.?|units?)\s+(?P<d>.+?)\s+(?:@|at)\s*(?P<u>\S+(?:\s?[A-Z]{3})?)"
    r"(?:\s*(?:=|->)?\s*(?P<a>\S+))?\s*(?:each)?\s*$",
    re.IGNORECASE,
)
_TRAILING_MULTIPLY = re.compile(
    r"^\s*(?P<d>.*?\S)\s+(?P<q>\d+(?:[.,]\d+)?)\s*(?:x|\u00d7|\*)\s*(?P<u>\S+)"
    r"(?:\s*=\s*(?P<a>\S+))?\s*$",
    re.IGNORECASE,
)
_LABELLED = re.compile(
    r"^\s*(?P<d>.*?[^\s,;:-])[\s,;:-]+(?:qty|quantity)\s*[:=]?\s*(?P<q>\d+(?:[.,]\d+)?)[\s,;]+"
    r"(?:unit\s+price|unit\s+cost|price|each|@)\s*[:=]?\s*(?P<u>\S+)"
    r"(?:[\s,;]+(?:total|amount|line\s+total)?\s*[:=]?\s*(?P<a>\S+))?\s*$",
    re.IGNORECASE,
)
_PATTERNS = (_MULTIPLY, _TRAILING_MULTIPLY, _LABELLED)
_DESC_WORDS = re.compile(
    r"\b(?:description|item|items|service|services|product|details|particulars|article|"
    r"bezeichnung|beschreibung|artikel|leistung)\b",
    re.IGNORECASE,
)
_QTY_WORDS = re.compile(r"\b(?:qty|quantity|hours|hrs|units|menge|anzahl)\b", re.IGNORECASE)
_PRICE_WORDS = re.compile(r"\b(?:amount|price|rate|total|betrag|preis|cost)\b", re.IGNORECASE)
_POSITION = re.compile(r"^\s*(?:\d{1,3}[.)]|#\d{1,3})\s+(?=\S)")


def money_value(token: str, decimal_comma: bool) -> Decimal | None:
    """The amount one whitespace-free token prints ("$45.00", "(12.00)", "1.234,56€"), or None
    (percentages, dates, codes and words are not amounts)."""
    negative = token.startswith(("-", "\u2212")) or (token.startswith("(") and token.endswith(")"))
    core = token.strip("()-\u2212:;,*|")
    if core.endswith("%"):
        return None
    for symbol in _SYMBOL_LIST:
        if core.startswith(symbol):
            core = core[len(symbol) :]
            break
        if core.endswith(symbol):
            core = core[: -len(symbol)]
            break
    code = re.match(r"^([A-Z]{3})(\d.*)$", core) or re.match(r"^(\d.*?)([A-Z]{3})$", core)
    if code:
        parts = code.groups()
        core = parts[1] if parts[0] in CURRENCIES else parts[0] if parts[1] in CURRENCIES else core
    if not _PLAIN.match(core):
        return None
    number = parse_amount(core, decimal_comma=decimal_comma)
    return -number if negative else number


def is_money_token(token: str, decimal_comma: bool = False) -> bool:
    return money_value(token, decimal_comma) is not None


def _is_decoration(token: str) -> bool:
    """A token that may sit among amounts without ending them: a currency, a percentage, a dash."""
    bare = token.strip("()|")
    return bare in SYMBOLS or bare in CURRENCIES or bare.endswith("%") or bare in ("-", "\u2013", "|", "")


def amount_tokens(line: str, decimal_comma: bool) -> list[Decimal]:
    """Every amount on the line, left to right."""
    values = (money_value(token, decimal_comma) for token in line.replace("|", " ").split())
    return [value for value in values if value is not None]


def items_header(line: str) -> Literal["desc_first", "qty_first"] | None:
    """Whether the line heads an items table (and whether quantities come before descriptions)."""
    desc = _DESC_WORDS.search(line)
    qty = _QTY_WORDS.search(line)
    if desc is None or (qty is None and not _PRICE_WORDS.search(line)) or re.search(r"\d", line):
        return None
    return "qty_first" if qty is not None and qty.start() < desc.start() else "desc_first"


def close(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= TOLERANCE


def parse_item_line(
    line: str,
    decimal_comma: bool,
    *,
    qty_first: bool = False,
    numbered: bool = False,
    strict: bool = False,
    two_numbers: TwoNumbers = "qty_amount",
) -> Item | None:
    """One item row, or None. `numbered`: rows start with a position number. `strict` (rows
    outside a recognised table) accepts only rows whose printed quantity x unit price makes
    their amount; `two_numbers` reads a row with two trailing numbers as quantity and amount
    (invoices) or quantity and unit price (orders)."""
    if len(line) > MAX_ROW:
        return None
    tokens = line.replace("|", " ").split()
    if numbered and len(tokens) > 1 and re.fullmatch(r"#?\d{1,3}[.)]?", tokens[0]):
        tokens = tokens[1:]
    text = " ".join(tokens)
    for pattern in _PATTERNS:
        match = pattern.match(text)
        if match:
            quantity = parse_amount(match.group("q"), decimal_comma=decimal_comma)
            unit = money_value(match.group("u").replace(" ", ""), decimal_comma)
            stated = money_value(match.group("a"), decimal_comma) if match.group("a") else None
            if unit is not None and quantity > 0 and re.search(r"[^\W\d_]", match.group("d")):
                amount = stated if stated is not None else quantity * unit
                return _describe(match.group("d")), quantity, unit, amount
    numbers: list[Decimal] = []
    positions: list[int] = []  # token index of each trailing number
    end = len(tokens)
    while end > 0:
        token = tokens[end - 1]
        value = money_value(token, decimal_comma)
        if value is not None:
            numbers.insert(0, value)
            positions.insert(0, end - 1)
        elif _is_decoration(token):
            pass
        elif not (numbers and end > 1 and token.lower().strip(".") in _UNIT_WORDS):
            break
        elif money_value(tokens[end - 2], decimal_comma) is None:
            break  # a unit word counts only right after a quantity ("10 hrs 95.00")
        end -= 1
    if not numbers:
        return None
    lead = money_value(tokens[0], decimal_comma) if positions[0] > 0 else None
    for reading in _readings(numbers, lead, qty_first, two_numbers):
        if strict and not (reading.printed and close(reading.quantity * reading.unit, reading.amount)):
            continue
        stop = positions[len(numbers) - reading.consumed]
        description = _describe(" ".join(tokens[1 if reading.uses_lead else 0 : stop]))
        if not re.search(r"[^\W\d_]", description):
            return None
        return description, reading.quantity, reading.unit, reading.amount
    return None


class Reading(NamedTuple):
    quantity: Decimal
    unit: Decimal
    amount: Decimal
    consumed: int  # how many of the trailing numbers it uses
    uses_lead: bool  # the row's leading number is its quantity
    printed: bool  # all three numbers are on the row (none derived)


def _readings(
    numbers: list[Decimal], lead: Decimal | None, qty_first: bool, two_numbers: TwoNumbers
) -> list[Reading]:
    """The ways to read a row's numbers, best first."""
    printed: list[Reading] = []
    if lead is not None and lead > 0 and len(numbers) >= 2:
        printed.append(Reading(lead, numbers[-2], numbers[-1], 2, True, True))
    if len(numbers) >= 3:
        # A leading number is the quantity in qty-first tables, else more often a row number.
        printed.insert(
            len(printed) if qty_first else 0, Reading(numbers[-3], numbers[-2], numbers[-1], 3, False, True)
        )
    derived: list[Reading] = []
    if lead is not None and lead > 0 and len(numbers) == 1:
        derived.append(Reading(lead, _divide(numbers[0], lead), numbers[0], 1, True, False))
    if len(numbers) >= 2:
        first, second = numbers[-2], numbers[-1]
        if two_numbers == "qty_price":
            derived.append(Reading(first, second, first * second, 2, False, False))
        elif first > 0 and first == first.to_integral_value():
            derived.append(Reading(first, _divide(second, first), second, 2, False, False))
    derived.append(Reading(Decimal(1), numbers[-1], numbers[-1], 1, False, False))
    # Printed numbers are what the document says (the checks report when they disagree);
    # among readings of one kind, those whose arithmetic holds come first.
    return sorted(
        printed + derived,
        key=lambda reading: (not reading.printed, not close(reading.quantity * reading.unit, reading.amount)),
    )


def _divide(amount: Decimal, quantity: Decimal) -> Decimal:
    return (amount / quantity).quantize(Decimal("0.0001"))


def _describe(text: str) -> str:
    return _POSITION.sub("", text).strip(" \t-\u2013|:;,.")


__all__ = ["MoneyError", "amount_tokens", "close", "items_header", "money_value", "parse_item_line"]
