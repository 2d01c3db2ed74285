"""Request ids: the caller's `X-Request-Id` when it is sane, a new one otherwise.

The id of the request being handled is in `current_request_id()` (a context variable, so
handlers and anything they log can name it) and in `request.state.request_id`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from contextvars import ContextVar, Token

HEADER = b"x-request-id"
# Short, printable, no spaces or quotes: safe to echo, log and put in a JSON line.
_SANE = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")

_current: ContextVar[str | None] = ContextVar("flowbus_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the HTTP request this code runs for, if any."""
    return _current.get()


def bind(request_id: str) -> Token[str | None]:
    return _current.set(request_id)


def unbind(token: Token[str | None]) -> None:
    _current.reset(token)


def request_id_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The incoming id if there is one and it is sane; a new one otherwise."""
    for name, value in headers:
        if name == HEADER:
            if _SANE.fullmatch(value):
                return value.decode("ascii")
            break
    return secrets.token_hex(16)


__all__ = ["HEADER", "bind", "current_request_id", "request_id_of", "unbind"]
