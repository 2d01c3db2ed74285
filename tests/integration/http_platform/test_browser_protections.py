"""CORS from the settings and the security headers on every answer, over a real server."""

from __future__ import annotations

from flowbus_shared.http.settings import HttpSettings
from tests.integration.http_platform.conftest import Serve, Served

ALLOWED = "https://ops.example.com"
PREFLIGHT = {"access-control-request-method": "POST", "access-control-request-headers": "authorization"}


async def test_a_preflight_from_an_allowed_origin_is_answered(serve: Serve) -> None:
    async with (
        serve(settings=HttpSettings(api_cors_origins=[ALLOWED])) as served,
        served.anonymous() as browser,
    ):
        answer = await browser.options("/v1/notes", headers={"origin": ALLOWED, **PREFLIGHT})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "authorization" in answer.headers["access-control-allow-headers"].lower()


async def test_a_preflight_from_another_origin_is_refused(serve: Serve) -> None:
    async with serve(settings=HttpSettings(api_cors_origins=[ALLOWED])) as served:
        async with served.anonymous() as browser:
            preflight = await browser.options(
                "/v1/notes", headers={"origin": "https://evil.example", **PREFLIGHT}
            )
        async with served.client(headers={"origin": "https://evil.example"}) as client:
            simple = await client.get("/v1/things/t-1")
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    assert simple.status_code == 200  # answered, but a browser will not show it to the page
    assert "access-control-allow-origin" not in simple.headers


async def test_an_allowed_origin_can_read_the_request_id_and_retry_after(serve: Serve) -> None:
    settings = HttpSettings(api_cors_origins=[ALLOWED])
    async with serve(settings=settings) as served, served.client(headers={"origin": ALLOWED}) as client:
        answer = await client.get("/v1/things/t-1")
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed
    assert "retry-after" in exposed


async def test_without_configured_origins_there_is_no_cors(served: Served) -> None:
    async with served.anonymous() as browser:
        answer = await browser.options("/v1/notes", headers={"origin": ALLOWED, **PREFLIGHT})
    assert answer.status_code == 405
    assert not any(name.startswith("access-control-") for name in answer.headers)


async def test_api_answers_carry_the_security_headers(served: Served) -> None:
    async with served.client() as client:
        answers = [await client.get("/v1/things/t-1"), await client.get("/v1/nowhere")]
    async with served.anonymous() as anonymous:
        answers += [await anonymous.get("/healthz"), await anonymous.get("/v1/things/t-1")]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store"
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert "server" not in answer.headers


async def test_the_docs_page_has_no_csp_and_a_stream_keeps_its_own_cache_control(served: Served) -> None:
    async with served.anonymous() as anonymous:
        docs = await anonymous.get("/docs")
    async with served.client() as client:
        stream = await client.get("/v1/events")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert "content-security-policy" not in docs.headers
    assert docs.headers["x-content-type-options"] == "nosniff"
    assert stream.text == "data: 0\n\ndata: 1\n\ndata: 2\n\n"
    assert stream.headers["cache-control"] == "no-cache"
    assert "content-security-policy" in stream.headers
