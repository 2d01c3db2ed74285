"""Client spans and W3C trace context on the httpx clients flowbus creates.

Only the given client is instrumented (no global patching), so a test's own client or a
library's stays untouched. Query values are recorded as REDACTED: integrations and providers
put API keys there (e.g. `?key=`), and a span must never carry a secret.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor, RequestInfo
from opentelemetry.trace import Span

_URL_ATTRIBUTES = ("url.full", "http.url")


def redacted_url(url: str) -> str:
    """`url` without credentials and with every query value replaced by REDACTED."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    query = urlencode([(name, "REDACTED") for name, _ in parse_qsl(parts.query, keep_blank_values=True)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _redact(span: Span, request: RequestInfo) -> None:
    if not span.is_recording():
        return
    recorded = getattr(span, "attributes", None) or {}
    safe = redacted_url(str(request.url))
    for name in _URL_ATTRIBUTES:
        if name in recorded:
            span.set_attribute(name, safe)


async def _redact_async(span: Span, request: RequestInfo) -> None:
    _redact(span, request)


def traced_http_client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Give `client` a client span per request and a `traceparent` header (returns it)."""
    HTTPXClientInstrumentor.instrument_client(client, request_hook=_redact_async)
    return client


def traced_sync_client(client: httpx.Client) -> httpx.Client:
    """The same for a blocking client (the CLI's)."""
    HTTPXClientInstrumentor.instrument_client(client, request_hook=_redact)
    return client
