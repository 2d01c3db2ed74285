"""The orchestrator's HTTP API as the CLI calls it: bearer auth from CliSettings, and every
problem answer or transport failure turned into a clear message on stderr and an exit code."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from urllib.parse import quote

import httpx

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
import typer
from pydantic import SecretStr, ValidationError

from flowbus_cli.output import ExitCode, fail
from flowbus_cli.settings import CliSettings

ApiUrl = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        help="the orchestrator's HTTP API (env FLOWBUS_API_URL; default http://127.0.0.1:8300)",
        show_default=False,
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="API key or JWT (env FLOWBUS_API_KEY, which keeps it out of shell history)",
        show_default=False,
    ),
]
PAGE_LIMIT = 500  # the API's largest page
RATE_LIMIT_RETRIES = 3
LONGEST_RETRY_PAUSE_SECONDS = 10.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


class Api:
    def __init__(self, settings: CliSettings) -> None:
        self.settings = settings
        self.url = _shown(settings.api_url)
        headers = {"user-agent": "flowbus-cli/1", "accept": "application/json"}
        token = settings.api_key.get_secret_value().strip() if settings.api_key is not None else ""
        if not token.isascii() or any(c.isspace() for c in token):
            fail("FLOWBUS_API_KEY (or --api-key) holds characters no API key or JWT has", ExitCode.USAGE)
        self._has_key = bool(token)
        if token:
            headers["authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=settings.api_url.rstrip("/"), headers=headers, timeout=settings.api_timeout_seconds
        )
        self._tracing = _traced(self._http)

    def close(self) -> None:
        self._http.close()
        if self._tracing is not None:
            self._tracing.shutdown()  # exports what this command recorded before the process ends

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).body

    def find(self, path: str, params: dict[str, Any] | None = None) -> Any | None:
        """Like `get`, but None for a 404 (an execution the orchestrator has not started yet)."""
        answer = self.request("GET", path, params=params, missing_ok=True)
        return None if answer.status == 404 else answer.body

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> Answer:
        return self.request(
            "POST", path, params=params, body=body, content=content, content_type=content_type
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        missing_ok: bool = False,
    ) -> Answer:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if content is not None:
            headers = {"content-type": content_type or "application/octet-stream"}
            request = self._http.build_request(method, path, params=query, content=content, headers=headers)
        else:
            request = self._http.build_request(method, path, params=query, json=body)
        response = self._send(request)
        for _retry in range(RATE_LIMIT_RETRIES):
            if response.status_code != 429:
                break
            # Refused before anything was done, so sending it again is safe, POSTs too.
            time.sleep(min(_retry_after(response), LONGEST_RETRY_PAUSE_SECONDS))
            response = self._send(request)
        if response.status_code == 404 and missing_ok:
            return Answer(404, None)
        if response.status_code >= 400:
            self._refused(response)
        try:
            return Answer(response.status_code, response.json() if response.content else None)
        except ValueError:
            fail(f"{self.url} answered {method} {path} with something other than JSON")

    def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._http.send(request)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
            fail(
                f"the API URL {self.url!r} is not usable ({error}): set FLOWBUS_API_URL or --api-url",
                ExitCode.USAGE,
            )
        except httpx.TimeoutException:
            fail(
                f"no answer from the orchestrator at {self.url} within {self.settings.api_timeout_seconds:g} s "
                "(FLOWBUS_API_TIMEOUT_SECONDS)",
                ExitCode.UNREACHABLE,
            )
        except httpx.TransportError as error:
            fail(
                f"cannot reach the orchestrator at {self.url}: {error or type(error).__name__} "
                "(is it running? set FLOWBUS_API_URL or --api-url)",
                ExitCode.UNREACHABLE,
            )

    def pages(self, path: str, key: str, limit: int, params: dict[str, Any] | None = None) -> list[Any]:
        """Up to `limit` items of a paged list, following `next_cursor`."""
        items: list[Any] = []
        cursor: str | None = None
        while len(items) < limit:
            page = self.get(
                path, {**(params or {}), "limit": min(limit - len(items), PAGE_LIMIT), "cursor": cursor}
            )
            items += page[key]
            cursor = page.get("next_cursor")
            if not cursor or not page[key]:
                break
        return items[:limit]

    def _refused(self, response: httpx.Response) -> NoReturn:
        status = response.status_code
        detail, faults = _problem(response)
        if status == 401:
            if not self._has_key:
                fail(
                    "no API key: set FLOWBUS_API_KEY (or --api-key) to a key from "
                    "`flowbus apikeys create --tenant T --role operator` or a JWT"
                )
            fail(
                f"the orchestrator at {self.url} refused the API key ({detail}): check FLOWBUS_API_KEY "
                "or --api-key; `flowbus apikeys create` makes a new one"
            )
        if status == 403:
            fail(f"{detail}: use a key with that role (`flowbus apikeys create --role operator|admin`)")
        lines = [detail, *(f"  {f.get('field', '?')}: {f.get('reason', '')}" for f in faults)]
        fail("\n".join(lines))


def _traced(client: httpx.Client) -> TracerProvider | None:
    """Client spans and `traceparent` on the CLI's requests when the OTEL_* variables ask for
    export (imported only then: most commands should start fast)."""
    from flowbus_shared.telemetry import export_configured

    if not export_configured():
        return None
    from flowbus_shared.http_tracing import traced_sync_client
    from flowbus_shared.telemetry import configure_tracing

    provider = configure_tracing("flowbus-cli")
    traced_sync_client(client)
    return provider


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(float(response.headers.get("retry-after", "1")), 0.1)
    except ValueError:
        return 1.0


def path(*parts: str) -> str:
    """`/v1/...` with each part escaped (ids come from users)."""
    return "/" + "/".join(quote(part, safe="") for part in parts)


def _problem(response: httpx.Response) -> tuple[str, list[dict[str, Any]]]:
    """The problem's detail and faults, or a short description of a body that is not one."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        faults = body.get("faults")
        return body["detail"], [f for f in faults if isinstance(f, dict)] if isinstance(faults, list) else []
    text = response.text.strip().replace("\n", " ")[:200]
    return f"HTTP {response.status_code}{': ' + text if text else ''}", []


def _shown(url: str) -> str:
    """The URL without any user:password in it, for messages."""
    try:
        return str(httpx.URL(url).copy_with(username=None, password=None))
    except (httpx.InvalidURL, TypeError):
        return url.split("@")[-1]


def settings_from(api_url: str | None, api_key: str | None) -> CliSettings:
    overrides: dict[str, Any] = {}
    if api_url:
        overrides["api_url"] = api_url
    if api_key:
        overrides["api_key"] = SecretStr(api_key)
    try:
        return CliSettings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        fail(f"bad CLI setting {where}: {first['msg']}", ExitCode.USAGE)


@contextmanager
def connect(api_url: str | None, api_key: str | None, *, patience_seconds: float = 0) -> Iterator[Api]:
    """An API client; `patience_seconds` raises the request timeout for slow routes (generation)."""
    settings = settings_from(api_url, api_key)
    if patience_seconds > settings.api_timeout_seconds:
        settings = settings.model_copy(update={"api_timeout_seconds": patience_seconds})
    api = Api(settings)
    try:
        yield api
    finally:
        api.close()
