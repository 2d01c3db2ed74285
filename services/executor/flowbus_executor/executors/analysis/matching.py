"""Matching invoices to payments, the way an accounts-receivable clerk works through a bank feed.

Passes, strongest evidence first; each payment and each invoice ends in at most one match:

1. `reference`: the payment's reference names the invoice number (case-insensitive, spaces and
   dashes ignored, "INV-1" never taken for "INV-10"). Payments and invoices linked by references
   form one match whatever their amounts and dates; the report flags what does not add up.
2. `exact_amount`: same currency, the same amount, the payment inside the invoice's window.
3. `amount_tolerance`: within the tolerance (`amount_tolerance`, or `percent_tolerance` of the
   invoice when that is larger), inside the window; the closest amount wins.
4. With `match_partial`: `partial_payments`, 2 to 3 payments (one payer) summing to an invoice;
   then `combined_payment`, one payment settling 2 to 4 invoices of one named customer.
5. `outside_window`: an amount match left over whose payment lies outside the window (reported
   as a discrepancy for review).

Invoices are taken oldest first and a payment goes to the earliest invoice it fits (FIFO, as
customers pay); a payer whose name agrees with the invoice's customer is preferred, and one whose
name clearly differs is never used for an amount or partial match. Partial searches are bounded
(the nearest candidates only) so a large feed stays fast.
"""

from __future__ import annotations

import datetime as dt
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flowbus_executor.executors.analysis.money import HUNDRED
from flowbus_executor.executors.analysis.names import agreement_rank, name_key

MAX_PAYMENTS_PER_INVOICE = 3
MAX_INVOICES_PER_PAYMENT = 4
# Candidates considered per partial search: C(20, 2) + C(20, 3) = 1330 sums per invoice at most.
PAYMENT_CANDIDATES = 20
INVOICE_CANDIDATES = 12
# Shorter invoice numbers ("7") would be found in almost any reference.
MIN_NUMBER_LENGTH = 3
_DASHES = "\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_SEPARATORS = re.compile(f"[\\s{_DASHES}]+")
_DIFFERENT = 2  # agreement_rank of names that clearly differ


@dataclass(frozen=True)
class Invoice:
    id: Any
    amount: Decimal
    currency: str
    date: dt.date
    number: str | None = None
    party: str | None = None
    due_date: dt.date | None = None


@dataclass(frozen=True)
class Payment:
    id: Any
    amount: Decimal
    currency: str
    date: dt.date
    reference: str | None = None
    payer: str | None = None


@dataclass(frozen=True)
class Options:
    amount_tolerance: Decimal = Decimal("0.01")
    percent_tolerance: Decimal | None = None
    date_window_days: int = 30
    match_partial: bool = True

    def tolerance(self, amount: Decimal) -> Decimal:
        """The larger of the absolute tolerance and `percent_tolerance` of `amount`."""
        if self.percent_tolerance is None:
            return self.amount_tolerance
        return max(self.amount_tolerance, abs(amount) * self.percent_tolerance / HUNDRED)

    def in_window(self, invoice: Invoice, payment: Payment) -> bool:
        """Paid on or after the invoice date and at most N days after the later of date and due date."""
        last = max(invoice.date, invoice.due_date or invoice.date)
        return invoice.date <= payment.date <= last + dt.timedelta(days=self.date_window_days)


@dataclass(frozen=True)
class Match:
    """Indexes into the invoices and payments given, and the rule that paired them."""

    invoices: tuple[int, ...]
    payments: tuple[int, ...]
    rule: str


def normalise(text: str) -> str:
    return _SEPARATORS.sub("", text.lower())


def number_pattern(number: str) -> re.Pattern[str] | None:
    """A pattern finding `number` in a reference, separators allowed between its characters."""
    compact = normalise(number)
    if len(compact) < MIN_NUMBER_LENGTH:
        return None
    body = f"[\\s{_DASHES}]*".join(re.escape(char) for char in compact)
    before = "(?<![0-9])" if compact[0].isdigit() else ""
    after = "(?![0-9])" if compact[-1].isdigit() else ""
    return re.compile(before + body + after, re.IGNORECASE)


def reconcile(invoices: Sequence[Invoice], payments: Sequence[Payment], options: Options) -> list[Match]:
    """Every match found, in the order the passes found them."""
    return _Matcher(invoices, payments, options).run()


_DIGIT_RUN = re.compile(r"[0-9]+")
# Only the first digits of a very long run (an IBAN, a card number) are searched for numbers.
_LONGEST_RUN = 40


def _digit_substrings(compact: str) -> set[str]:
    """Every contiguous piece of every run of digits in `compact`."""
    pieces = set()
    for run in _DIGIT_RUN.findall(compact):
        run = run[:_LONGEST_RUN]
        for start in range(len(run)):
            for end in range(start + 1, len(run) + 1):
                pieces.add(run[start:end])
    return pieces


_DateIndex = dict[str, tuple[list[dt.date], list[int]]]


def _by_date(keys: Iterable[tuple[str, dt.date]]) -> _DateIndex:
    """Per currency, the dates ascending and the indexes they belong to."""
    rows: dict[str, list[tuple[dt.date, int]]] = {}
    for index, (currency, day) in enumerate(keys):
        rows.setdefault(currency, []).append((day, index))
    return {
        currency: ([day for day, _ in sorted(items)], [index for _, index in sorted(items)])
        for currency, items in rows.items()
    }


def _between(index: _DateIndex, currency: str, first: dt.date, last: dt.date) -> list[int]:
    """The indexes dated from `first` to `last` (inclusive) in `currency`, oldest first."""
    days, indexes = index.get(currency, ([], []))
    return indexes[bisect_left(days, first) : bisect_right(days, last)]


def subsets(
    items: Sequence[tuple[Decimal, int]], target: Decimal, tolerance: Decimal, largest: int
) -> Iterator[tuple[int, ...]]:
    """The index tuples of 2 to `largest` items summing to `target` +- `tolerance`.

    `items` are (amount, index), amounts positive and ascending, so a branch stops as soon as its
    total overshoots or can no longer reach the target.
    """
    chosen: list[int] = []
    biggest = items[-1][0] if items else Decimal(0)

    def walk(start: int, total: Decimal) -> Iterator[tuple[int, ...]]:
        if len(chosen) >= 2 and abs(total - target) <= tolerance:
            yield tuple(chosen)
        if len(chosen) == largest or total + biggest * (largest - len(chosen)) < target - tolerance:
            return
        for position in range(start, len(items)):
            amount, index = items[position]
            if total + amount > target + tolerance:
                break
            chosen.append(index)
            yield from walk(position + 1, total + amount)
            chosen.pop()

    yield from walk(0, Decimal(0))


class _Matcher:
    def __init__(self, invoices: Sequence[Invoice], payments: Sequence[Payment], options: Options) -> None:
        self.invoices = invoices
        self.payments = payments
        self.options = options
        self.open_invoices = set(range(len(invoices)))
        self.open_payments = set(range(len(payments)))
        self.matches: list[Match] = []
        self._parties = [name_key(invoice.party) for invoice in invoices]
        self._payers = [name_key(payment.payer) for payment in payments]
        days = dt.timedelta(days=options.date_window_days)
        self._windows = [
            (invoice.date, max(invoice.date, invoice.due_date or invoice.date) + days) for invoice in invoices
        ]
        # Per currency, payments by amount: amount passes look up a range instead of scanning all.
        self._by_amount_index: dict[str, list[tuple[Decimal, int]]] = {}
        for p, payment in enumerate(payments):
            self._by_amount_index.setdefault(payment.currency, []).append((payment.amount, p))
        for rows in self._by_amount_index.values():
            rows.sort()
        # Per currency, payments and invoices by date: partial searches look at a date range only.
        self._payment_dates = _by_date((payment.currency, payment.date) for payment in payments)
        self._invoice_dates = _by_date((invoice.currency, invoice.date) for invoice in invoices)
        self._longest_window = max((last - first for first, last in self._windows), default=days)

    def run(self) -> list[Match]:
        self._by_reference()
        self._by_amount("exact_amount")
        self._by_amount("amount_tolerance")
        if self.options.match_partial:
            self._partial_payments()
            self._combined_payments()
        self._by_amount("outside_window")
        return self.matches

    def _take(self, invoices: Iterable[int], payments: Iterable[int], rule: str) -> None:
        match = Match(tuple(sorted(invoices)), tuple(sorted(payments)), rule)
        self.open_invoices.difference_update(match.invoices)
        self.open_payments.difference_update(match.payments)
        self.matches.append(match)

    def _fifo_invoices(self) -> list[int]:
        return sorted(self.open_invoices, key=lambda i: (self.invoices[i].date, i))

    def _rank(self, invoice: int, payment: int) -> int:
        return agreement_rank(self._parties[invoice], self._payers[payment])

    def _in_window(self, invoice: int, payment: int) -> bool:
        first, last = self._windows[invoice]
        return first <= self.payments[payment].date <= last

    def _by_reference(self) -> None:
        """Union the invoices and payments that references link; each linked group is one match."""
        parent = list(range(len(self.invoices) + len(self.payments)))

        def root(node: int) -> int:
            while parent[node] != node:
                parent[node] = parent[parent[node]]
                node = parent[node]
            return node

        # Numbers indexed by their longest run of digits, which a reference naming them must contain
        # (separators removed): a reference is compared with a few numbers, not all of them.
        by_digits: dict[str, list[tuple[int, str, str]]] = {}
        wordy: list[tuple[int, str, str]] = []  # numbers without digits, compared with every reference
        for index, invoice in enumerate(self.invoices):
            number = normalise(invoice.number or "")
            if invoice.number and len(number) >= MIN_NUMBER_LENGTH:
                runs = _DIGIT_RUN.findall(number)
                entry = (index, number, invoice.number)
                if runs:
                    by_digits.setdefault(max(runs, key=len), []).append(entry)
                else:
                    wordy.append(entry)
        patterns: dict[int, re.Pattern[str] | None] = {}
        linked: set[int] = set()
        for p, payment in enumerate(self.payments):
            if not payment.reference:
                continue
            compact = normalise(payment.reference)
            candidates = [entry for run in _digit_substrings(compact) for entry in by_digits.get(run, ())]
            for i, number, text in sorted(candidates) + wordy:
                if number not in compact:  # cheap test first; the pattern checks the boundaries
                    continue
                pattern = patterns[i] if i in patterns else patterns.setdefault(i, number_pattern(text))
                if pattern is not None and pattern.search(payment.reference):
                    parent[root(len(self.invoices) + p)] = root(i)
                    linked.update((i, len(self.invoices) + p))
        groups: dict[int, list[int]] = {}
        for node in sorted(linked):
            groups.setdefault(root(node), []).append(node)
        for members in groups.values():
            invoices = [node for node in members if node < len(self.invoices)]
            payments = [node - len(self.invoices) for node in members if node >= len(self.invoices)]
            self._take(invoices, payments, "reference")

    def _by_amount(self, rule: str) -> None:
        """One payment per invoice: exact, within tolerance, or (last) outside the window."""
        for i in self._fifo_invoices():
            invoice = self.invoices[i]
            tolerance = Decimal(0) if rule == "exact_amount" else self.options.tolerance(invoice.amount)
            rows = self._by_amount_index.get(invoice.currency, [])
            low = bisect_left(rows, (invoice.amount - tolerance, -1))
            high = bisect_right(rows, (invoice.amount + tolerance, len(self.payments)))
            best: tuple[Any, ...] | None = None
            for amount, p in rows[low:high]:
                if p not in self.open_payments or self._in_window(i, p) == (rule == "outside_window"):
                    continue
                rank = self._rank(i, p)
                if rank == _DIFFERENT:
                    continue
                payment = self.payments[p]
                distance = abs((payment.date - invoice.date).days)
                key = (rank, abs(amount - invoice.amount), distance, payment.date, p)
                if best is None or key < best:
                    best = key
            if best is not None:
                self._take([i], [best[-1]], rule)

    def _partial_payments(self) -> None:
        """Several payments of one payer (or of unnamed payers) summing to one invoice."""
        for i in self._fifo_invoices():
            invoice = self.invoices[i]
            if invoice.amount <= 0:
                continue
            tolerance = self.options.tolerance(invoice.amount)
            candidates: list[int] = []
            for p in _between(self._payment_dates, invoice.currency, *self._windows[i]):
                if (
                    p in self.open_payments
                    and 0 < self.payments[p].amount <= invoice.amount + tolerance
                    and self._rank(i, p) != _DIFFERENT
                ):
                    candidates.append(p)
                    if len(candidates) == PAYMENT_CANDIDATES:  # the earliest payments after the invoice
                        break
            items = sorted((self.payments[p].amount, p) for p in candidates)
            best: tuple[Any, ...] | None = None
            for combo in subsets(items, invoice.amount, tolerance, MAX_PAYMENTS_PER_INVOICE):
                if len({self._payers[p] for p in combo}) != 1:
                    continue
                paid = sum((self.payments[p].amount for p in combo), Decimal(0))
                ranks = sum(self._rank(i, p) for p in combo)
                key = (abs(paid - invoice.amount), ranks, len(combo), sorted(combo))
                if best is None or key < best:
                    best = key
            if best is not None:
                self._take([i], best[-1], "partial_payments")

    def _combined_payments(self) -> None:
        """One payment settling several open invoices of one named customer."""
        for p in sorted(self.open_payments, key=lambda p: (self.payments[p].date, p)):
            payment = self.payments[p]
            if payment.amount <= 0:
                continue
            # Generous for the search; each sum is then held to the tolerance of its own total.
            reach = self.options.tolerance(payment.amount * 2)
            by_party: dict[frozenset[str], list[int]] = {}
            issued = _between(
                self._invoice_dates, payment.currency, payment.date - self._longest_window, payment.date
            )
            # The invoices issued closest before the payment are the likeliest it settles.
            for i in reversed(issued):
                party = self._parties[i]
                if (
                    party is not None
                    and len(by_party.get(party, ())) < INVOICE_CANDIDATES
                    and i in self.open_invoices
                    and 0 < self.invoices[i].amount <= payment.amount + reach
                    and self._in_window(i, p)
                    and self._rank(i, p) != _DIFFERENT
                ):
                    by_party.setdefault(party, []).append(i)
            best: tuple[Any, ...] | None = None
            for candidates in by_party.values():
                items = sorted((self.invoices[i].amount, i) for i in candidates)
                for combo in subsets(items, payment.amount, reach, MAX_INVOICES_PER_PAYMENT):
                    total = sum((self.invoices[i].amount for i in combo), Decimal(0))
                    difference = abs(payment.amount - total)
                    if difference > self.options.tolerance(total):
                        continue
                    key = (difference, self._rank(combo[0], p), len(combo), sorted(combo))
                    if best is None or key < best:
                        best = key
            if best is not None:
                self._take(best[-1], [p], "combined_payment")
