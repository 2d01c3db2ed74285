"""api_call: one HTTP request to a URL of the workflow's choosing, behind an SSRF guard.

config:
- `url`, `method` (default GET), `headers`, `query` (URL parameters), `json` or `body` (a string
  is sent as it is, a mapping or list as JSON), `timeout_seconds` (capped by the step's own),
  `expect_status` (statuses that succeed; default: anything below 400);
- `connection` (optional): a vault connection of service `http` whose secrets authenticate the
  call: `bearer_token`, `username` + `password`, or `api_key` (+ `api_key_header`, default
  X-API-Key). Only `http` connections: a workflow cannot ship, say, its Slack token elsewhere;
- or the monolith's form `{service: github, action: create_repo, ...}` without `url`: the action
  of that service's universal_integration connector runs (see connectors.py).

Output: {status, headers (lowercase names, no set-cookie), body (JSON when the answer is JSON,
else text)}, plus `truncated: true` when the body was cut at 1 MB.

The guard resolves the host and refuses private, loopback, link-local, multicast, reserved and
unspecified addresses (IPv4-mapped IPv6 included) unless the host or the address is in
`api_call_allowed_hosts`. Plain http connects to the very address checked, so a second DNS
answer cannot swap in an internal one; for https the certificate check does that job. Redirects
are never followed: a 3xx is the output, so it cannot lead past the guard.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from flowbus_executor import http
from flowbus_executor.deps import ExecutorDeps, connection_for
from flowbus_executor.settings import ExecutorSettings
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler

MAX_BODY_BYTES = 1024 * 1024
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
HTTP_SERVICE = "http"  # the vault service of connections api_call may authenticate with
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CREDENTIAL_HEADER = re.compile(r"auth|cookie|key|token|secret|password|signature", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    """Where a guarded request goes; `host_header` is set when `url` holds the checked address."""

    url: httpx.URL
    host: str
    host_header: str | None = None

    def with_query(self, params: Mapping[str, Any]) -> httpx.URL:
        # Added to the URL's own query: httpx's `params=` would replace that query instead.
        return self.url.copy_merge_params(dict(params)) if params else self.url


def _forbidden(address: IPAddress) -> bool:
    # ::ffff:127.0.0.1 reaches 127.0.0.1 (and 2002:7f00:1:: may, by 6to4): judge the IPv4 inside.
    if (embedded := getattr(address, "ipv4_mapped", None) or getattr(address, "sixtofour", None)) is not None:
        return _forbidden(embedded)
    internal = (address.is_private, address.is_loopback, address.is_link_local, address.is_unspecified)
    return any(internal) or address.is_multicast or address.is_reserved or not address.is_global


def _allowed(entries: Iterable[str], host: str, address: IPAddress | None = None) -> bool:
    for entry in entries:
        entry = entry.strip().lower().rstrip(".")
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            if entry == host:
                return True
            continue
        # An allowed IPv4 network allows its IPv4-mapped IPv6 spelling too.
        candidates = [one for one in (address, getattr(address, "ipv4_mapped", None)) if one is not None]
        if any(one.version == network.version and one in network for one in candidates):
            return True
    return False


async def guard(settings: ExecutorSettings, url: str) -> Target:
    """Check `url` against the SSRF rules; a permanent `forbidden_address` failure if it breaks one."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as error:
        raise StepFailure("invalid_config", f"url is not a valid URL: {error}") from None
    if parsed.scheme not in ("http", "https"):
        raise StepFailure("forbidden_address", f"only http and https URLs are allowed, not {parsed.scheme!r}")
    host = parsed.raw_host.decode("ascii").lower().rstrip(".")
    if not host:
        raise StepFailure("invalid_config", "url has no host")
    allowed = settings.api_call_allowed_hosts
    if _allowed(allowed, host):
        return Target(url=parsed, host=host)
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(
            host, parsed.port or (443 if parsed.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError) as error:
        # DNS trouble may pass; a name that does not exist fails again on the retries.
        raise StepFailure("connection", f"cannot resolve {host}: {error}", retryable=True) from None
    addresses = [ipaddress.ip_address(str(answer[4][0]).split("%")[0]) for answer in answers]
    refused = [
        address for address in addresses if _forbidden(address) and not _allowed(allowed, host, address)
    ]
    # One internal answer among public ones is refused too: it is what DNS rebinding looks like.
    if refused or not addresses:
        shown = ", ".join(sorted({str(address) for address in refused})) or "nothing"
        message = f"{host} resolves to {shown}: internal addresses are refused (see api_call_allowed_hosts)"
        raise StepFailure("forbidden_address", message)
    if parsed.scheme == "https":
        return Target(url=parsed, host=host)
    # IPv4 first: a host without IPv6 routes still gets through (pinning skips happy eyeballs).
    pinned = parsed.copy_with(host=str(min(addresses, key=lambda address: address.version)))
    return Target(url=pinned, host=host, host_header=parsed.netloc.decode("ascii"))


def set_header(headers: dict[str, str], name: str, value: str) -> None:
    """Set a header, replacing one of the same name in any letter case (no duplicates on the wire)."""
    for existing in [key for key in headers if key.lower() == name.lower()]:
        del headers[existing]
    headers[name] = value


def finish_headers(
    headers: dict[str, str],
    request: StepRequest,
    target: Target,
    idempotency_header: str | None = http.IDEMPOTENCY_HEADER,
) -> None:
    """Add the Host of a pinned address and the idempotency key; one the headers carry already,
    in any letter case, is kept (http.send's own default would then go out twice)."""
    if target.host_header:
        set_header(headers, "Host", target.host_header)
    if idempotency_header:
        given = next(
            (value for name, value in headers.items() if name.lower() == idempotency_header.lower()), None
        )
        set_header(headers, idempotency_header, given or request.idempotency_key)


def header_map(value: Any, what: str = "headers") -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise StepFailure("invalid_config", f"{what} must be a mapping")
    headers: dict[str, str] = {}
    for name, item in value.items():
        text = "" if item is None else str(item)
        if any(char in f"{name}{text}" for char in "\r\n\x00") or not str(name).strip():  # no smuggling
            raise StepFailure("invalid_config", f"{what}: invalid header {name!r}")
        set_header(headers, str(name), text)
    return headers


def query_params(value: Any, what: str = "query") -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise StepFailure("invalid_config", f"{what} must be a mapping")

    def plain(item: Any) -> Any:  # what httpx takes: str and numbers; anything else as its text
        return item if isinstance(item, str | int | float) else str(item)

    return {
        str(name): [plain(part) for part in item] if isinstance(item, list | tuple) else plain(item)
        for name, item in value.items()
        if item is not None  # None leaves the parameter out
    }


def expected_statuses(value: Any) -> list[int] | None:
    if value in (None, "", []):
        return None
    try:
        statuses = [int(item) for item in (value if isinstance(value, list) else [value])]
    except (TypeError, ValueError):
        statuses = []
    if not statuses or any(not 100 <= status <= 599 for status in statuses):
        raise StepFailure("invalid_config", "expect_status must be a status (100-599) or a list of them")
    return statuses


def check_status(
    response: httpx.Response, expect: list[int] | None, *, service: str, secrets: Iterable[str]
) -> None:
    """Default: below 400 succeeds (a 3xx is returned, never followed); `expect` narrows or widens that."""
    status = response.status_code
    if expect is not None and status in expect:
        return
    if status >= 400:
        raise http.failure_for(response, service=service, secrets=secrets)
    if expect is not None:
        raise StepFailure("unexpected_status", f"{service} answered {status}, expected one of {expect}")


def decoded_body(response: httpx.Response) -> dict[str, Any]:
    """{body} as JSON when the answer says it is JSON, else text; cut at MAX_BODY_BYTES."""
    content = response.content
    if len(content) > MAX_BODY_BYTES:
        text = content[:MAX_BODY_BYTES].decode(response.encoding or "utf-8", errors="replace")
        return {"body": text, "truncated": True}
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content.strip() and (kind == "application/json" or kind.endswith("+json")):
        with contextlib.suppress(ValueError):  # mislabelled: it goes as text
            return {"body": response.json()}
    return {"body": response.text}


def capped(request: StepRequest, config: Mapping[str, Any]) -> StepRequest:
    """The request with `config.timeout_seconds` as its HTTP timeout, never beyond the step's own."""
    value = config.get("timeout_seconds")
    if value in (None, ""):
        return request
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = 0.0
    if isinstance(value, bool) or not seconds > 0:
        raise StepFailure("invalid_config", "timeout_seconds must be a number above 0")
    return request.model_copy(update={"timeout_seconds": min(seconds, request.timeout_seconds)})


async def _connection_auth(deps: ExecutorDeps, request: StepRequest) -> tuple[dict[str, str], list[str]]:
    """Headers authenticating with `config.connection`, and the values to scrub from errors."""
    if not request.config.get("connection"):
        return {}, []
    connection = await connection_for(deps, request, HTTP_SERVICE)
    secrets = connection.secret_values()
    values = connection.secrets
    if values.get("bearer_token"):
        return {"Authorization": f"Bearer {values['bearer_token']}"}, secrets
    if values.get("username") and values.get("password"):
        encoded = base64.b64encode(f"{values['username']}:{values['password']}".encode()).decode()
        return {"Authorization": f"Basic {encoded}"}, [*secrets, encoded]
    if values.get("api_key"):
        return {str(values.get("api_key_header") or "X-API-Key"): str(values["api_key"])}, secrets
    lacks = "lacks bearer_token, username and password, or api_key"
    raise StepFailure("invalid_connection", f"connection {connection.name!r} {lacks}")


async def call_url(deps: ExecutorDeps, request: StepRequest, config: Mapping[str, Any]) -> dict[str, Any]:
    url = config.get("url")
    if not isinstance(url, str) or not url.strip():
        raise StepFailure("invalid_config", "api_call needs a url (or a service and an action)")
    method = str(config.get("method") or "GET").upper()
    if method not in METHODS:
        raise StepFailure("invalid_config", f"method {method!r} is not one of {', '.join(sorted(METHODS))}")
    if "json" in config and "body" in config:
        raise StepFailure("invalid_config", "give json or body, not both")
    expect = expected_statuses(config.get("expect_status"))
    target = await guard(deps.settings, url.strip())
    headers = header_map(config.get("headers"))
    # Credentials the workflow wrote into its headers stay out of errors as well.
    written = [value for name, value in headers.items() if _CREDENTIAL_HEADER.search(name)]
    auth, secrets = await _connection_auth(deps, request)
    secrets = [*secrets, *written]
    for name, value in auth.items():
        set_header(headers, name, value)
    finish_headers(headers, request, target)
    options: dict[str, Any] = {"headers": headers}
    body = config.get("body")
    if "json" in config or (body is not None and not isinstance(body, str)):
        options["json"] = config.get("json", body)
    elif body is not None:
        options["content"] = body
    response = await http.send(
        deps.http,
        method,
        str(target.with_query(query_params(config.get("query")))),
        request=capped(request, config),
        service=target.host,
        secrets=secrets,
        raise_for_status=False,
        follow_redirects=False,
        **options,
    )
    check_status(response, expect, service=target.host, secrets=secrets)
    kept = {name: value for name, value in response.headers.items() if name.lower() != "set-cookie"}
    return {"status": response.status_code, "headers": kept, **decoded_body(response)}


def handlers(deps: ExecutorDeps) -> dict[str, StepHandler]:
    async def api_call(request: StepRequest) -> dict[str, Any]:
        config = request.config
        if config.get("service") and not config.get("url"):
            from flowbus_executor.executors import connectors  # it imports this module: import late

            return await connectors.run_action(deps, request)
        return await call_url(deps, request, config)

    return {"api_call": api_call}
