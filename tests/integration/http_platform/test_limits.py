"""The request body limit (413) and the per-key rate limit (429 + Retry-After), over a real
server. The rate limiter's clock is the test's, so refills happen when the test says."""

from __future__ import annotations

from collections.abc import AsyncIterator

from flowbus_shared.http.settings import HttpSettings
from tests.integration.http_platform.conftest import Serve

LIMIT = 1024


def small_body_settings() -> HttpSettings:
    return HttpSettings(api_max_body_bytes=LIMIT)


async def chunks(total: int, size: int = 300) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b"x" * piece


async def test_a_body_declared_larger_than_the_limit_is_refused(serve: Serve) -> None:
    async with serve(settings=small_body_settings()) as served, served.client() as client:
        refused = await client.post("/v1/notes", json={"text": "x" * 2000})
        accepted = await client.post("/v1/notes", json={"text": "x" * 500})
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["detail"] == f"the request body is larger than the limit of {LIMIT} bytes"
    assert problem["error"]["code"] == "body_too_large"
    assert refused.headers["x-request-id"]
    assert refused.headers.get("connection") != "close"  # the rest was read: the connection stays usable
    assert accepted.status_code == 200
    assert accepted.json() == {"length": 500}


async def test_a_streamed_body_without_a_length_is_refused_once_it_passes_the_limit(serve: Serve) -> None:
    async with serve(settings=small_body_settings()) as served, served.client() as client:
        parsed = await client.post(
            "/v1/notes", content=chunks(2000), headers={"content-type": "application/json"}
        )
        read = await client.post("/v1/uploads", content=chunks(2000))
        within = await client.post("/v1/uploads", content=chunks(LIMIT))
    for refused in (parsed, read):
        assert refused.request.headers["transfer-encoding"] == "chunked"
        assert refused.status_code == 413
        assert str(LIMIT) in refused.json()["detail"]
        assert refused.json()["error"]["code"] == "body_too_large"
        assert refused.headers.get("connection") != "close"
    assert within.status_code == 200
    assert within.json() == {"bytes": LIMIT}


async def test_a_key_over_its_rate_gets_429_with_retry_after_until_its_bucket_refills(serve: Serve) -> None:
    settings = HttpSettings(api_rate_limit_per_second=0.5, api_rate_limit_burst=2)
    async with serve(settings=settings) as served, served.client() as client:
        burst = [(await client.get("/v1/things/t-1")).status_code for _ in range(2)]
        limited = await client.get("/v1/things/t-1")
        served.clock.now += 1.0  # half a request refilled: still limited
        still = await client.get("/v1/things/t-1")
        served.clock.now += 1.0
        refilled = await client.get("/v1/things/t-1")
        again = await client.get("/v1/things/t-1")
    assert burst == [200, 200]
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert limited.json()["error"]["code"] == "rate_limited"
    assert "at most 0.5 a second" in limited.json()["detail"]
    assert still.status_code == 429
    assert still.headers["retry-after"] == "1"
    assert refilled.status_code == 200
    assert again.status_code == 429


async def test_each_key_has_its_own_bucket_and_service_keys_have_none(serve: Serve) -> None:
    settings = HttpSettings(api_rate_limit_per_second=1, api_rate_limit_burst=1)
    async with serve(settings=settings) as served:
        async with served.client("acme", "admin") as admin, served.client("acme", "viewer") as viewer:
            first = [(await admin.get("/v1/things/t-1")).status_code for _ in range(2)]
            other = (await viewer.get("/v1/things/t-1")).status_code
        async with served.client("acme", "service") as service:
            calls = [(await service.get("/v1/things/t-1")).status_code for _ in range(5)]
    assert first == [200, 429]
    assert other == 200
    assert calls == [200] * 5


async def test_a_zero_rate_means_no_limit(serve: Serve) -> None:
    settings = HttpSettings(api_rate_limit_per_second=0, api_rate_limit_burst=1)
    async with serve(settings=settings) as served, served.client() as client:
        statuses = [(await client.get("/v1/things/t-1")).status_code for _ in range(5)]
    assert statuses == [200] * 5


async def test_unauthenticated_requests_do_not_use_up_a_keys_bucket(serve: Serve) -> None:
    settings = HttpSettings(api_rate_limit_per_second=1, api_rate_limit_burst=1)
    async with serve(settings=settings) as served:
        async with served.anonymous() as anonymous:
            refused = [(await anonymous.get("/v1/things/t-1")).status_code for _ in range(3)]
        async with served.client() as client:
            allowed = await client.get("/v1/things/t-1")
    assert refused == [401] * 3
    assert allowed.status_code == 200
