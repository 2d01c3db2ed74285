"""Security headers on every response (a pure ASGI middleware: it only edits the head).

API answers must not be sniffed into another type, framed, cached or leak a referrer, and
a strict Content-Security-Policy stops any HTML or SVG that slipped into one from running.
The interactive docs pages load Swagger UI / ReDoc from a CDN, so they get no CSP.
A response that sets its own Cache-Control (an SSE stream, say) keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
_CSP = (b"content-security-policy", CSP.encode())
_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, docs_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        on_docs = scope["path"] in self.docs_paths

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                added = list(_ALWAYS)
                if not on_docs:
                    added.append(_CSP)
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    added.append(_NO_STORE)
                message["headers"] = headers + added
            await send(message)

        await self.app(scope, receive, send_secured)
