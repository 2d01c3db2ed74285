"""Outbound HTTP for every executor: one place that sends, passes the idempotency key
on, and turns what comes back into a result or a classified StepFailure.

Retryable: connection errors, timeouts, 429 (Retry-After honoured), 5xx.
Permanent: other 4xx. Error texts are cut short and scrubbed of the
connection's secrets, so no token ever reaches a result, an error or a log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx

from flowbus_shared.retry_after import retry_after_seconds as retry_after
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure

IDEMPOTENCY_HEADER = "Idempotency-Key"


def redact(text: str, secrets: Iterable[str]) -> str:
    for value in secrets:
        if len(value) >= 4:
            text = text.replace(value, "[redacted]")
    return text


def retry_after_seconds(response: httpx.Response) -> float | None:
    return retry_after(response.headers)


Describe = Callable[[Any], str | None]


def _described(response: httpx.Response, describe: Describe | None) -> str | None:
    if describe is None:
        return None
    try:
        return describe(response.json())
    except (ValueError, AttributeError, TypeError, KeyError):
        return None


def failure_for(
    response: httpx.Response, *, service: str, secrets: Iterable[str] = (), describe: Describe | None = None
) -> StepFailure:
    """The classified failure of an error response. `describe` pulls the service's own error
    text out of its JSON body (else the raw body is shown), cut short and scrubbed of secrets."""
    detail = redact((_described(response, describe) or response.text)[:500], list(secrets))
    status = response.status_code
    if status == 429:
        return StepFailure(
            "rate_limit",
            f"{service} rate-limited the call (429): {detail}",
            retryable=True,
            retry_after_seconds=retry_after_seconds(response),
        )
    if status >= 500:
        return StepFailure(
            "server_error",
            f"{service} answered {status}: {detail}",
            retryable=True,
            retry_after_seconds=retry_after_seconds(response),
        )
    kind = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}.get(
        status, "bad_request"
    )
    return StepFailure(kind, f"{service} answered {status}: {detail}")


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    request: StepRequest,
    service: str,
    secrets: Iterable[str] = (),
    idempotency_header: str | None = IDEMPOTENCY_HEADER,
    raise_for_status: bool = True,
    **options: Any,
) -> httpx.Response:
    """Send one HTTP request for a step; the step's timeout bounds it."""
    headers = dict(options.pop("headers", None) or {})
    if idempotency_header:
        headers.setdefault(idempotency_header, request.idempotency_key)
    secret_values = list(secrets)
    try:
        response = await client.request(
            method, url, headers=headers, timeout=request.timeout_seconds, **options
        )
    except httpx.TimeoutException:
        raise StepFailure(
            "timeout", f"{service} did not answer within {request.timeout_seconds} s", retryable=True
        ) from None
    except httpx.TransportError as error:
        message = redact(f"{service} unreachable: {type(error).__name__}: {error}", secret_values)
        raise StepFailure("connection", message, retryable=True) from None
    if raise_for_status and response.status_code >= 400:
        raise failure_for(response, service=service, secrets=secret_values)
    return response


def json_body(response: httpx.Response, *, service: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise StepFailure("bad_response", f"{service} answered {response.status_code} without JSON") from None
