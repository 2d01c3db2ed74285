"""Request bodies larger than the limit get 413 (a pure ASGI middleware).

A declared Content-Length over the limit is refused without passing the request on. A body
without one (chunked) is counted as it streams in; the read that passes the limit raises
`BodyTooLarge`, an HTTPException, so the route's problem handler answers it (FastAPI
re-raises HTTPExceptions met while reading a body); if it escapes the app, this answers.
A body within its declared length needs no counting (the HTTP parser holds it to that length).

Before answering, the rest of a refused body is read and dropped (up to `DRAIN_BYTES` and
`DRAIN_SECONDS`): a client still sending it would otherwise get a connection reset instead
of the 413. Past those bounds, or when the client waits for `100 Continue`, the answer
closes the connection instead.
"""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowbus_shared.http.problems import problem_response

CODE = "body_too_large"
DRAIN_BYTES = 8 * 1024 * 1024
DRAIN_SECONDS = 5.0


class BodyTooLarge(HTTPException):
    code = CODE

    def __init__(self, limit: int, *, close: bool) -> None:
        super().__init__(
            413,
            f"the request body is larger than the limit of {limit} bytes",
            headers={"connection": "close"} if close else None,
        )


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return bytes(value)
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


async def _drained(receive: Receive, cap: int) -> bool:
    """Read and drop the rest of the body; whether it all came within the bounds."""
    dropped = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while dropped <= cap:
                message = await receive()
                if message["type"] != "http.request":
                    return False  # the client went away
                dropped += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return True
    except TimeoutError:
        return False
    return False


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is None:
            await self._counting(scope, receive, send)
        elif declared <= self.max_bytes:
            await self.app(scope, receive, send)
        else:
            waits_for_continue = (_header(scope, b"expect") or b"").lower() == b"100-continue"
            drained = (
                not waits_for_continue and declared <= DRAIN_BYTES and await _drained(receive, cap=declared)
            )
            await self._refuse(BodyTooLarge(self.max_bytes, close=not drained), scope, receive, send)

    async def _counting(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        responded = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    done = not message.get("more_body", False) or await _drained(receive, cap=DRAIN_BYTES)
                    raise BodyTooLarge(self.max_bytes, close=not done)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal responded
            responded = responded or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge as refusal:
            if responded:
                raise
            await self._refuse(refusal, scope, receive, send)

    @staticmethod
    async def _refuse(refusal: BodyTooLarge, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(refusal.headers or {})
        response = problem_response(413, refusal.detail, code=CODE, headers=headers or None)
        await response(scope, receive, send)
