"""Loose comparison of party and vendor names as they appear on invoices and bank lines.

"ACME Corp.", "Acme Corporation" and "acme" are one party: names become sets of lower-case
words without legal-form suffixes, and two names agree when one's words are all in the other's.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+")
# Legal forms and filler that differ between an invoice's customer and a bank line's payer.
_NOISE = frozenset(
    {
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "llc",
        "llp",
        "plc",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "bv",
        "nv",
        "oy",
        "ab",
        "as",
        "pty",
        "srl",
        "spa",
        "the",
    }
)


def name_key(name: str | None) -> frozenset[str] | None:
    """The distinctive words of a name, None when it has none."""
    if not name:
        return None
    words = frozenset(_WORD.findall(name.lower())) - _NOISE
    return words or None


def same_name(first: frozenset[str] | None, second: frozenset[str] | None) -> bool | None:
    """True when one name's words are all in the other's, False when not, None when either is unknown."""
    if first is None or second is None:
        return None
    return first <= second or second <= first


def agreement_rank(first: frozenset[str] | None, second: frozenset[str] | None) -> int:
    """0 the names agree, 1 unknown, 2 they differ: a sort key preferring agreeing parties."""
    agree = same_name(first, second)
    return 1 if agree is None else (0 if agree else 2)
