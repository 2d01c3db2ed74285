"""api_call against real loopback HTTP servers: the request on the wire, the output, the
classified failures, auth from a vault connection, and the SSRF guard.

Most answers come from tests.support.http_double; answers that need their own content type,
a Location or Set-Cookie header come from `raw_double` below, and the timeout from a socket
that listens but never answers."""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors import web
from flowbus_shared.step_worker import StepFailure
from tests.support.executor_deps import TENANT, executor_deps, step_request
from tests.support.http_double import HttpDouble, Recorded, http_double

LOOPBACK = ["127.0.0.1"]


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@contextmanager
def raw_double(reply: Callable[[Recorded], Reply]) -> Iterator[HttpDouble]:
    """The shared double, answering with exactly the status, headers and bytes of a Reply."""

    def respond(recorded: Recorded) -> tuple[int, bytes, dict[str, str]]:
        answer = reply(recorded)
        return answer.status, answer.body, answer.headers

    with http_double(respond) as double:
        yield double


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections (the kernel's backlog does) and never answers a byte."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def ok(_recorded: Recorded) -> tuple[int, Any]:
    return 200, {"ok": True}


@asynccontextmanager
async def deps_for(tmp_path: Path, allowed: list[str] | None = None) -> AsyncIterator[ExecutorDeps]:
    hosts = LOOPBACK if allowed is None else allowed
    async with executor_deps(tmp_path / "x.db", api_call_allowed_hosts=hosts) as deps:
        yield deps


async def call(deps: ExecutorDeps, config: dict[str, Any], **request: Any) -> dict[str, Any]:
    return await web.handlers(deps)["api_call"](step_request("api_call", config, **request))


async def fail(deps: ExecutorDeps, config: dict[str, Any], **request: Any) -> StepFailure:
    with pytest.raises(StepFailure) as caught:
        await call(deps, config, **request)
    return caught.value


async def test_get_sends_query_and_headers_and_returns_status_headers_and_json(tmp_path: Path) -> None:
    with http_double(lambda _r: (200, {"items": [1, 2]})) as double:
        async with deps_for(tmp_path) as deps:
            output = await call(
                deps,
                {
                    "url": f"{double.url}/items?sort=asc",
                    "headers": {"X-Trace": "t-1"},
                    "query": {"page": 2, "tag": ["a", "b"], "skip": None},
                },
            )
    assert output["status"] == 200
    assert output["body"] == {"items": [1, 2]}
    assert output["headers"]["content-type"] == "application/json"
    assert all(name == name.lower() for name in output["headers"])
    assert "truncated" not in output
    [seen] = double.requests
    assert (seen.method, seen.path) == ("GET", "/items?sort=asc&page=2&tag=a&tag=b")
    assert seen.headers["X-Trace"] == "t-1"


@pytest.mark.parametrize("key", ["json", "body"])
async def test_post_sends_a_mapping_as_json(tmp_path: Path, key: str) -> None:
    with http_double(lambda _r: (201, {"id": 7})) as double:
        async with deps_for(tmp_path) as deps:
            output = await call(deps, {"method": "post", "url": f"{double.url}/orders", key: {"total": 12.5}})
    assert (output["status"], output["body"]) == (201, {"id": 7})
    [seen] = double.requests
    assert (seen.method, seen.path, seen.body) == ("POST", "/orders", {"total": 12.5})
    assert seen.headers["Content-Type"] == "application/json"


async def test_a_string_body_is_sent_as_it_is_and_a_text_answer_comes_back_as_text(tmp_path: Path) -> None:
    pong = Reply(200, b"pong \xe2\x9c\x93", {"Content-Type": "text/plain; charset=utf-8"})
    with raw_double(lambda _r: pong) as double:
        async with deps_for(tmp_path) as deps:
            output = await call(deps, {"method": "POST", "url": double.url, "body": "ping=1&x=y"})
    assert output["body"] == "pong \u2713"
    assert double.requests[0].body == "ping=1&x=y"


async def test_answer_headers_are_lowercase_without_set_cookie(tmp_path: Path) -> None:
    headers = {"Content-Type": "application/json", "X-Request-Id": "r-9", "Set-Cookie": "session=abc"}
    with raw_double(lambda _r: Reply(200, b'{"a": 1}', headers)) as double:
        async with deps_for(tmp_path) as deps:
            output = await call(deps, {"url": double.url})
    assert output["headers"]["x-request-id"] == "r-9"
    assert "set-cookie" not in output["headers"]
    assert output["body"] == {"a": 1}


async def test_a_body_over_1_mb_is_cut_and_flagged(tmp_path: Path) -> None:
    big = b"[" + b"1," * (web.MAX_BODY_BYTES // 2) + b"1]"
    with raw_double(lambda _r: Reply(200, big, {"Content-Type": "application/json"})) as double:
        async with deps_for(tmp_path) as deps:
            output = await call(deps, {"url": double.url})
    assert output["truncated"] is True
    assert output["body"] == big[: web.MAX_BODY_BYTES].decode()


AUTH_CASES = [
    ({"bearer_token": "tok-abcdef-123456"}, "Authorization", "Bearer tok-abcdef-123456"),
    (
        {"username": "ann", "password": "pw-secret-99"},
        "Authorization",
        "Basic " + base64.b64encode(b"ann:pw-secret-99").decode(),
    ),
    ({"api_key": "key-0123456789"}, "X-API-Key", "key-0123456789"),
    ({"api_key": "key-0123456789", "api_key_header": "X-Auth-Token"}, "X-Auth-Token", "key-0123456789"),
]


@pytest.mark.parametrize(("secrets", "header", "value"), AUTH_CASES)
async def test_connection_auth_arrives_and_never_shows_in_an_error(
    tmp_path: Path, secrets: dict[str, str], header: str, value: str
) -> None:
    # The double echoes every header it got, as a careless server would in a 401.
    with http_double(lambda r: (401, {"denied": r.headers})) as double:
        async with deps_for(tmp_path) as deps:
            await deps.vault.put(TENANT, "partner", web.HTTP_SERVICE, secrets)
            failure = await fail(deps, {"url": double.url, "connection": "partner"})
    assert double.requests[0].headers[header] == value
    assert (failure.error_type, failure.retryable) == ("unauthorized", False)
    for secret in [value.split()[-1], *secrets.values()]:
        if secret not in ("ann", "X-Auth-Token"):
            assert secret not in failure.message
    assert "[redacted]" in failure.message


async def test_a_connection_of_another_service_is_refused(tmp_path: Path) -> None:
    with http_double(ok) as double:
        async with deps_for(tmp_path) as deps:
            await deps.vault.put(TENANT, "slack", "slack", {"bot_token": "xoxb-secret-token"})
            failure = await fail(deps, {"url": double.url, "connection": "slack"})
    assert failure.error_type == "missing_connection"
    assert double.requests == []


@pytest.mark.parametrize(
    ("status", "error_type", "retryable"),
    [
        (404, "not_found", False),
        (400, "bad_request", False),
        (500, "server_error", True),
        (503, "server_error", True),
    ],
)
async def test_error_statuses_are_classified(
    tmp_path: Path, status: int, error_type: str, retryable: bool
) -> None:
    with http_double(lambda _r: (status, {"error": "nope"})) as double:
        async with deps_for(tmp_path) as deps:
            failure = await fail(deps, {"url": double.url})
    assert (failure.error_type, failure.retryable) == (error_type, retryable)


async def test_429_is_a_retryable_rate_limit_with_retry_after(tmp_path: Path) -> None:
    busy = Reply(429, b'{"error": "slow down"}', {"Content-Type": "application/json", "Retry-After": "7"})
    with raw_double(lambda _r: busy) as double:
        async with deps_for(tmp_path) as deps:
            failure = await fail(deps, {"url": double.url})
    assert (failure.error_type, failure.retryable, failure.retry_after_seconds) == ("rate_limit", True, 7.0)


async def test_expect_status_decides_what_succeeds(tmp_path: Path) -> None:
    with http_double(lambda _r: (404, {"missing": True})) as double:
        async with deps_for(tmp_path) as deps:
            output = await call(deps, {"url": double.url, "expect_status": [200, 404]})
            assert (output["status"], output["body"]) == (404, {"missing": True})
            failure = await fail(deps, {"url": double.url, "expect_status": 200})
    assert failure.error_type == "not_found"
    with http_double(ok) as double:
        async with deps_for(tmp_path) as deps:
            failure = await fail(deps, {"url": double.url, "expect_status": [201]})
    assert (failure.error_type, failure.retryable) == ("unexpected_status", False)


async def test_the_idempotency_key_names_execution_step_and_attempt(tmp_path: Path) -> None:
    with http_double(ok) as double:
        async with deps_for(tmp_path) as deps:
            await call(deps, {"method": "POST", "url": double.url, "json": {}}, step_id="charge", attempt=3)
            # One the workflow sets itself, in any letter case, is kept and sent once.
            await call(deps, {"url": double.url, "headers": {"idempotency-key": "mine"}})
    assert double.requests[0].headers["Idempotency-Key"] == "exec-1:charge:3"
    assert [name.lower() for name in double.requests[1].headers].count("idempotency-key") == 1
    assert double.requests[1].headers["Idempotency-Key"] == "mine"


async def test_a_redirect_is_returned_not_followed(tmp_path: Path) -> None:
    with http_double(ok) as elsewhere:
        moved = Reply(302, b"", {"Location": f"{elsewhere.url}/inside"})
        with raw_double(lambda _r: moved) as double:
            async with deps_for(tmp_path) as deps:
                output = await call(deps, {"url": double.url})
    assert output["status"] == 302
    assert output["headers"]["location"] == f"{elsewhere.url}/inside"
    assert elsewhere.requests == []


@pytest.mark.parametrize(
    ("config_timeout", "step_timeout", "shown"), [(0.2, 10.0, "0.2 s"), (60, 0.3, "0.3 s")]
)
async def test_a_silent_server_times_out_retryably_within_the_capped_timeout(
    tmp_path: Path, config_timeout: float, step_timeout: float, shown: str
) -> None:
    with silent_server() as url:
        async with deps_for(tmp_path) as deps:
            failure = await fail(
                deps, {"url": url, "timeout_seconds": config_timeout}, timeout_seconds=step_timeout
            )
    assert (failure.error_type, failure.retryable) == ("timeout", True)
    assert shown in failure.message


INTERNAL = [
    "http://127.0.0.1:{port}/",
    "http://localhost:{port}/",
    "http://[::1]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://2130706433:{port}/",  # 127.0.0.1 spelt as one number
    "http://0.0.0.0:{port}/",
    "http://10.1.2.3/",
    "http://192.168.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://[2002:7f00:1::]/",  # 6to4 around 127.0.0.1
    "http://[::127.0.0.1]/",  # IPv4-compatible spelling
    "http://224.0.0.1/",
]


@pytest.mark.parametrize("template", INTERNAL)
async def test_the_guard_refuses_internal_addresses(tmp_path: Path, template: str) -> None:
    with http_double(ok) as double:
        url = template.format(port=double.url.rsplit(":", 1)[1])
        async with deps_for(tmp_path, allowed=[]) as deps:
            failure = await fail(deps, {"url": url}, timeout_seconds=2)
    assert (failure.error_type, failure.retryable) == ("forbidden_address", False)
    assert double.requests == []


@pytest.mark.parametrize(
    "url", ["http://10.1.2.3/", "http://169.254.169.254/", "http://[::1]/", "http://192.168.1.1/"]
)
async def test_allowing_loopback_allows_nothing_else(tmp_path: Path, url: str) -> None:
    async with deps_for(tmp_path) as deps:
        failure = await fail(deps, {"url": url}, timeout_seconds=2)
    assert failure.error_type == "forbidden_address"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/"])
async def test_only_http_and_https_are_allowed(tmp_path: Path, url: str) -> None:
    async with deps_for(tmp_path) as deps:
        failure = await fail(deps, {"url": url})
    assert (failure.error_type, failure.retryable) == ("forbidden_address", False)


@pytest.mark.parametrize("allowed", [["127.0.0.1"], ["127.0.0.0/8"], ["10.0.0.0/8", " 127.0.0.1 "]])
async def test_the_double_is_reachable_only_when_allowed(tmp_path: Path, allowed: list[str]) -> None:
    with http_double(ok) as double:
        async with deps_for(tmp_path, allowed=[]) as deps:
            assert (await fail(deps, {"url": double.url})).error_type == "forbidden_address"
        async with deps_for(tmp_path, allowed=allowed) as deps:
            assert (await call(deps, {"url": double.url}))["status"] == 200
    assert len(double.requests) == 1


async def test_an_allowed_host_name_is_reached_under_its_name(tmp_path: Path) -> None:
    with http_double(ok) as double:
        port = double.url.rsplit(":", 1)[1]
        async with deps_for(tmp_path, allowed=["LocalHost"]) as deps:
            assert (await call(deps, {"url": f"http://localhost:{port}/a"}))["status"] == 200
    assert double.requests[0].headers["Host"] == f"localhost:{port}"


async def test_plain_http_connects_to_the_checked_address_keeping_the_host_name(tmp_path: Path) -> None:
    # localhost is not allowed by name, only its address is: the call goes to that address.
    with http_double(ok) as double:
        port = double.url.rsplit(":", 1)[1]
        async with deps_for(tmp_path, allowed=["127.0.0.1/32"]) as deps:
            assert (await call(deps, {"url": f"http://localhost:{port}/a"}))["status"] == 200
    assert double.requests[0].headers["Host"] == f"localhost:{port}"


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"url": "   "},
        {"url": "http://127.0.0.1/", "method": "BREW"},
        {"url": "http://127.0.0.1/", "json": {}, "body": "x"},
        {"url": "http://127.0.0.1/", "headers": {"X-Bad": "a\r\nX-Injected: 1"}},
        {"url": "http://127.0.0.1/", "headers": ["not", "a", "mapping"]},
        {"url": "http://127.0.0.1/", "timeout_seconds": -1},
        {"url": "http://127.0.0.1/", "expect_status": ["ok"]},
        {"url": "http:///no-host"},
    ],
)
async def test_bad_config_is_a_permanent_invalid_config(tmp_path: Path, config: dict[str, Any]) -> None:
    async with deps_for(tmp_path) as deps:
        failure = await fail(deps, config)
    assert (failure.error_type, failure.retryable) == ("invalid_config", False)
