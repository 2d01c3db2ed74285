"""What a provider adapter is, and the errors it raises (classified for fallbacks)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from flowbus_llm_gateway.model import ChatRequest, ChatResponse, StreamDelta


class ProviderError(Exception):
    """A provider call failed. `retryable` (429, 5xx, timeouts, connection errors, a stream
    broken or errored mid-way) lets the router try the next candidate; `retry_after_seconds`
    comes from Retry-After. Messages never contain the API key.

    Kinds, the same for every provider: rate_limit, server_error, overloaded, timeout,
    connection, broken_stream (retryable); unauthorized, bad_request, not_found,
    content_filter, bad_response, stream_error (permanent)."""

    def __init__(
        self,
        provider: str,
        kind: str,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(f"{provider}: {kind}: {message}")
        self.provider = provider
        self.kind = kind
        self.message = message
        self.retryable = retryable
        self.status = status
        self.retry_after_seconds = retry_after_seconds
        # Set when part of a streamed answer was already passed on: no fallback to another
        # model (it would not continue the same text), but the whole request may be retried.
        self.partial = False


_KEY_PARAM = re.compile(r"([?&]key=)[^&\s\"']+")


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to call a provider."""

    base_url: str
    api_key: str

    def __repr__(self) -> str:  # never show the key
        return f"Endpoint(base_url={self.base_url!r}, api_key=<hidden>)"


class Provider(Protocol):
    name: str

    async def complete(
        self, client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest
    ) -> ChatResponse:
        """One whole answer."""

    def stream(
        self, client: httpx.AsyncClient, endpoint: Endpoint, request: ChatRequest
    ) -> AsyncIterator[StreamDelta]:
        """Deltas as they arrive; the last has `done` set with the final usage."""


def hide_key(text: str, endpoint: Endpoint, *, limit: int = 500) -> str:
    """`text` cut short, without the API key, whether a server echoes it bare or as `?key=`."""
    if endpoint.api_key:
        text = text.replace(endpoint.api_key, "<hidden>")
    return _KEY_PARAM.sub(r"\1<hidden>", text)[:limit]


def transport_error(
    provider: str, exc: httpx.HTTPError, endpoint: Endpoint, *, streaming: bool = False
) -> ProviderError:
    """A request that got no (whole) answer: retryable; mid-stream it is a broken stream."""
    detail = hide_key(f"{type(exc).__name__}: {exc}", endpoint)
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError(provider, "timeout", detail, retryable=True)
    return ProviderError(provider, "broken_stream" if streaming else "connection", detail, retryable=True)


def json_chunk(provider: str, data: str) -> dict[str, Any] | None:
    """One SSE data payload as a JSON object (None for other JSON); garbage breaks the stream."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise ProviderError(provider, "broken_stream", "a stream chunk is not JSON", retryable=True) from None
    return chunk if isinstance(chunk, dict) else None
