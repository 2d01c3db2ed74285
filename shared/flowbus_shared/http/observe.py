"""The outermost middleware of every API: gives each request its id (echoed in
`X-Request-Id`), then writes one JSON access-log line and the request's metrics.

A pure ASGI middleware (no BaseHTTPMiddleware): it only looks at the response head, so a
streamed response passes through untouched. The access log is on logger `flowbus.access`
(INFO; DEBUG for health checks and scrapes) with the method, the route template (never the
raw path: it may carry ids or secrets), the status, the duration until the last byte, the
request id and, once authenticated, the key id of the caller. Never a header's value.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowbus_shared.http import metrics, request_ids

access_log = logging.getLogger("flowbus.access")

UNMATCHED = "<unmatched>"
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


def route_template(scope: Scope) -> str:
    """The template of the route that served the request (`/v1/agents/{agent_id}`)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED


def _key_id(scope: Scope) -> str | None:
    principal = scope.get("state", {}).get("principal")
    key_id = getattr(principal, "key_id", None)
    return key_id if isinstance(key_id, str) else None


class ObserveRequests:
    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_ids.request_id_of(scope["headers"])
        scope.setdefault("state", {})["request_id"] = request_id
        echoed = (request_ids.HEADER, request_id.encode("ascii"))
        status = 500  # unless a response head says otherwise (an exception escaped before one)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        started = time.perf_counter()
        token = request_ids.bind(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_ids.unbind(token)
            self._record(scope, status, time.perf_counter() - started, request_id)

    def _record(self, scope: Scope, status: int, seconds: float, request_id: str) -> None:
        route = route_template(scope)
        method = scope["method"]
        metrics.observe(self.service, method, route, status, seconds)
        level = logging.DEBUG if route in _QUIET_ROUTES else logging.INFO
        if not access_log.isEnabledFor(level):
            return
        entry: dict[str, Any] = {
            "service": self.service,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "request_id": request_id,
        }
        key_id = _key_id(scope)
        if key_id is not None:
            entry["key_id"] = key_id
        access_log.log(level, json.dumps(entry, separators=(",", ":")), extra={"access": entry})
