"""Dates as documents print them: 2026-11-03, 03/11/2026 (day or month first), 03.11.2026,
"3 November 2026", "Nov 3, 2026", "3rd Nov 2026"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

DateOrder = Literal["DMY", "MDY"]

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_PATTERNS = [
    ("iso", re.compile(r"\b(?P<year>\d{4})-(?P<a>\d{1,2})-(?P<b>\d{1,2})\b")),
    ("numeric", re.compile(r"\b(?P<a>\d{1,2})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})\b")),
    ("day_month", re.compile(_DAY + r"\s+" + _MONTH + r",?\s+(?P<year>\d{4})\b", re.IGNORECASE)),
    ("month_day", re.compile(r"\b" + _MONTH + r"\s+" + _DAY + r",?\s+(?P<year>\d{4})\b", re.IGNORECASE)),
]


@dataclass(frozen=True)
class FoundDate:
    start: int
    end: int
    value: date
    text: str
    ambiguous: bool  # numeric, both parts <= 12, read by the default order


def find_dates(line: str, *, order: DateOrder | None, default_order: DateOrder) -> list[FoundDate]:
    """Every date in `line`, left to right. `order` is the configured reading of numeric dates
    such as 03/11/2026; without it a part above 12 decides, dotted dates are day-first, and
    otherwise `default_order` is used and the date marked ambiguous."""
    found: list[FoundDate] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(line):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            value, ambiguous = _interpret(kind, match, order, default_order)
            if value is not None:
                found.append(FoundDate(match.start(), match.end(), value, match.group(), ambiguous))
                taken.append((match.start(), match.end()))
    return sorted(found, key=lambda item: item.start)


def _interpret(
    kind: str, match: re.Match[str], order: DateOrder | None, default_order: DateOrder
) -> tuple[date | None, bool]:
    groups = match.groupdict()
    year = int(groups["year"])
    if year < 100:
        year += 2000
    ambiguous = False
    if kind == "iso":
        month, day = int(groups["a"]), int(groups["b"])
    elif kind == "numeric":
        first, second = int(groups["a"]), int(groups["b"])
        if order is None:
            if first > 12:
                chosen: DateOrder = "DMY"
            elif second > 12:
                chosen = "MDY"
            elif groups["sep"] == ".":
                chosen = "DMY"
            else:
                chosen, ambiguous = default_order, first != second
        else:
            chosen = order
        day, month = (first, second) if chosen == "DMY" else (second, first)
    else:
        month, day = MONTHS[groups["month"].lower()], int(groups["day"])
    try:
        return date(year, month, day), ambiguous
    except ValueError:
        return None, False
