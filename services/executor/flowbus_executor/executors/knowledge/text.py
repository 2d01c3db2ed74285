"""Text normalisation shared by the knowledge steps: the casefolded form facts are keyed and
traversed by, the token sets near-duplicates are compared with, and records' searchable text."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

# Letters and digits: underscores and punctuation separate words, as both full-text tokenisers do.
_WORD = re.compile(r"[^\W_]+")


def norm(text: str) -> str:
    """Casefolded with whitespace collapsed: 'ACME  Corp' and 'acme corp' name one entity."""
    return " ".join(text.casefold().split())


def fact_key(subject: str, predicate: str, obj: str) -> str:
    """The de-duplication key of a triple (its normalised parts, hashed to fit an index)."""
    triple = json.dumps([norm(subject), norm(predicate), norm(obj)], ensure_ascii=False)
    return hashlib.sha256(triple.encode()).hexdigest()


def words(text: str) -> list[str]:
    """Lowercased word tokens, punctuation dropped."""
    return _WORD.findall(text.casefold())


def token_set(text: str) -> frozenset[str]:
    return frozenset(words(text))


def jaccard(first: frozenset[str], second: frozenset[str]) -> float:
    if not first and not second:
        return 1.0
    return len(first & second) / len(first | second)


def flatten_text(value: Any) -> str:
    """The string and number values inside a JSON value, in order, space separated."""
    parts: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for inner in item.values():
                walk(inner)
        elif isinstance(item, list):
            for inner in item:
                walk(inner)
        elif isinstance(item, str):
            if item.strip():
                parts.append(" ".join(item.split()))
        elif isinstance(item, int | float) and not isinstance(item, bool):
            parts.append(str(item))

    walk(value)
    return " ".join(parts)


def readable(predicate: str) -> str:
    """A predicate as prose: 'account_manager' -> 'account manager'."""
    return " ".join(predicate.replace("_", " ").split())


def sentence(subject: str, predicate: str, obj: str) -> str:
    return f"{subject} {readable(predicate)} {obj}"
