"""Opaque page cursors: the key of the last row a page showed, as URL-safe base64 JSON."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from flowbus_shared.http import ApiError

MAX_CURSOR = 1000


def encode_cursor(kind: str, values: list[Any]) -> str:
    raw = json.dumps([kind, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str, arity: int) -> list[Any]:
    """The values of a cursor this API gave out for `kind` lists; 422 for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        decoded = None
    if (
        not isinstance(decoded, list)
        or len(decoded) != arity + 1
        or decoded[0] != kind
        or not all(isinstance(value, str) for value in decoded[1:])
    ):
        raise ApiError(422, "cursor: not a cursor this list gave out", code="invalid_cursor")
    return decoded[1:]
