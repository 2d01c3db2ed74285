"""Request ids, the JSON access log and unexpected errors, over a real server."""

from __future__ import annotations

import json
import logging
import re

import pytest

from tests.integration.http_platform.conftest import SERVICE, Served


async def test_a_sane_incoming_request_id_is_echoed_and_seen_by_the_handler(served: Served) -> None:
    async with served.client() as client:
        answer = await client.get("/v1/things/t-1", headers={"x-request-id": "checkout-42.a"})
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "checkout-42.a"
    assert answer.json()["request_id"] == "checkout-42.a"


@pytest.mark.parametrize("incoming", [None, "has space", "x" * 129, 'quote"d', "<script>"])
async def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(
    served: Served, incoming: str | None
) -> None:
    headers = {} if incoming is None else {"x-request-id": incoming}
    async with served.client() as client:
        first = await client.get("/v1/things/t-1", headers=headers)
        second = await client.get("/v1/things/t-1", headers=headers)
    generated = first.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert first.json()["request_id"] == generated
    assert second.headers["x-request-id"] != generated  # one per request


async def test_every_response_carries_its_request_id_even_errors(served: Served) -> None:
    async with served.anonymous() as anonymous:
        refused = await anonymous.get("/v1/things/t-1")
        missing = await anonymous.get("/nowhere")
    assert refused.status_code == 401
    assert missing.status_code == 404
    assert refused.headers["x-request-id"]
    assert missing.headers["x-request-id"]


async def test_the_access_log_has_one_json_line_with_the_route_template_and_the_key(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    token = served.tokens["acme/viewer"]
    caplog.set_level(logging.INFO, logger="flowbus.access")
    async with served.client(role="viewer") as client:
        answer = await client.get("/v1/things/secret-thing-77?q=private", headers={"x-request-id": "req-1"})
    assert answer.status_code == 200
    lines = [r for r in caplog.records if r.name == "flowbus.access"]
    assert len(lines) == 1
    entry = json.loads(lines[0].getMessage())
    assert entry["service"] == SERVICE
    assert (entry["method"], entry["route"], entry["status"]) == ("GET", "/v1/things/{thing_id}", 200)
    assert entry["request_id"] == "req-1"
    assert entry["key_id"] == token.split("_")[1]
    assert isinstance(entry["duration_ms"], float)
    assert entry["duration_ms"] >= 0
    logged = caplog.text
    assert token not in logged
    assert token.split("_")[2] not in logged
    assert "secret-thing-77" not in logged
    assert "private" not in logged


async def test_refused_and_unmatched_requests_are_logged_without_a_key(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flowbus.access")
    async with served.anonymous(headers={"authorization": "Bearer fbk_nope_nothing"}) as anonymous:
        await anonymous.get("/v1/things/t-1")
        await anonymous.get("/wp-admin/setup.php")
    entries = [json.loads(r.getMessage()) for r in caplog.records if r.name == "flowbus.access"]
    assert [(e["route"], e["status"]) for e in entries] == [
        ("/v1/things/{thing_id}", 401),
        ("<unmatched>", 404),
    ]
    assert all("key_id" not in e for e in entries)
    assert "fbk_nope_nothing" not in caplog.text


async def test_health_checks_are_logged_at_debug_only(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flowbus.access")
    async with served.anonymous() as anonymous:
        assert (await anonymous.get("/healthz")).status_code == 200
    assert [r for r in caplog.records if r.name == "flowbus.access"] == []


async def test_an_unexpected_error_is_a_500_problem_naming_the_request_id(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flowbus.access")
    async with served.client() as client:
        answer = await client.get("/v1/broken", headers={"x-request-id": "bug-1"})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["x-request-id"] == "bug-1"
    assert answer.json()["detail"] == "internal error; request id bug-1"
    assert "a bug" not in answer.text
    entries = [json.loads(r.getMessage()) for r in caplog.records if r.name == "flowbus.access"]
    assert [(e["route"], e["status"], e["request_id"]) for e in entries] == [("/v1/broken", 500, "bug-1")]
