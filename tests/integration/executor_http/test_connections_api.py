"""/v1/connections on a real server: store, list, read and delete a tenant's connections, each
answer without secrets; roles; tenants apart; bad bodies refused with the reason."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from flowbus_shared.auth import Role
from flowbus_shared.settings import FlowbusSettings
from tests.integration.executor_http.conftest import ExecutorHttp, serve_executor
from tests.support.http_double import HttpDouble

SLACK = {"service": "slack", "secrets": {"bot_token": "xoxb-first-token"}}
SMTP = {
    "service": "smtp",
    "secrets": {
        "host": "smtp.example.com",
        "port": 587,
        "security": "starttls",
        "username": "bot",
        "password": "smtp-password-value",
        "from_address": "bot@example.com",
    },
}


async def test_put_list_get_and_delete(executor_http: ExecutorHttp) -> None:
    async with executor_http.client() as client:
        created = await client.put("/v1/connections/slack", json=SLACK)
        assert created.status_code == 201, created.text
        first = created.json()
        assert set(first) == {"name", "service", "fingerprint", "key_id", "updated_at", "public_fields"}
        assert (first["name"], first["service"], first["key_id"]) == ("slack", "slack", "test-1")
        assert first["public_fields"] == {}
        datetime.fromisoformat(first["updated_at"])

        mail = await client.put("/v1/connections/mail", json=SMTP)
        assert mail.status_code == 201, mail.text
        assert mail.json()["public_fields"] == {
            "host": "smtp.example.com",
            "port": 587,
            "security": "starttls",
            "username": "bot",
            "from_address": "bot@example.com",
        }

        listed = await client.get("/v1/connections")
        assert listed.status_code == 200
        assert listed.json() == {
            "connections": [
                {"name": "mail", "service": "smtp", "fingerprint": mail.json()["fingerprint"]},
                {"name": "slack", "service": "slack", "fingerprint": first["fingerprint"]},
            ]
        }

        read = await client.get("/v1/connections/mail")
        assert read.status_code == 200
        assert read.json() == mail.json()

        replaced = await client.put(
            "/v1/connections/slack", json={"service": "slack", "secrets": {"bot_token": "xoxb-second"}}
        )
        assert replaced.status_code == 200, replaced.text  # replaced, not created
        assert replaced.json()["fingerprint"] != first["fingerprint"]
        assert replaced.json()["updated_at"] >= first["updated_at"]

        deleted = await client.delete("/v1/connections/slack")
        assert deleted.status_code == 204
        gone = await client.get("/v1/connections/slack")
        assert gone.status_code == 404
        assert gone.headers["content-type"] == "application/problem+json"
        assert gone.json()["detail"] == "no connection 'slack'"
        assert (await client.delete("/v1/connections/slack")).status_code == 404
        assert [c["name"] for c in (await client.get("/v1/connections")).json()["connections"]] == ["mail"]


async def test_a_connector_shows_its_base_url_and_action_names_only(executor_http: ExecutorHttp) -> None:
    connector = {
        "service": "connector",
        "secrets": {
            "base_url": "https://api.github.com",
            "auth": {"scheme": "bearer", "token": "ghp-connector-token"},
            "headers": {"X-Api-Key": "header-secret"},
            "actions": {"create_repo": {"method": "POST", "path": "/orgs/{org}/repos"}, "get_repo": {}},
        },
    }
    async with executor_http.client() as client:
        answer = await client.put("/v1/connections/github", json=connector)
    assert answer.status_code == 201, answer.text
    assert answer.json()["public_fields"] == {
        "base_url": "https://api.github.com",
        "actions": ["create_repo", "get_repo"],
    }


async def test_another_tenants_connection_is_not_there(executor_http: ExecutorHttp) -> None:
    async with executor_http.client("acme") as acme, executor_http.client("globex") as globex:
        stored = (await acme.put("/v1/connections/slack", json=SLACK)).json()

        assert (await globex.get("/v1/connections/slack")).status_code == 404
        assert (await globex.get("/v1/connections")).json() == {"connections": []}
        assert (await globex.delete("/v1/connections/slack")).status_code == 404

        own = {"service": "slack", "secrets": {"bot_token": "xoxb-globex"}}
        assert (await globex.put("/v1/connections/slack", json=own)).status_code == 201  # its own, new

        assert (await acme.get("/v1/connections/slack")).json() == stored  # untouched
        assert (await globex.get("/v1/connections/slack")).json()["fingerprint"] != stored["fingerprint"]


@pytest.mark.parametrize("role", ["viewer", "operator"])
async def test_only_an_admin_stores_or_deletes(executor_http: ExecutorHttp, role: Role) -> None:
    async with executor_http.client() as admin, executor_http.client(role=role) as other:
        stored = (await admin.put("/v1/connections/slack", json=SLACK)).json()

        refused = await other.put("/v1/connections/slack", json={**SLACK, "secrets": {"bot_token": "x"}})
        assert refused.status_code == 403
        assert refused.json()["detail"] == f"this needs the admin role; the key has {role}"
        assert (await other.delete("/v1/connections/slack")).status_code == 403

        assert (await other.get("/v1/connections")).status_code == 200  # reading is fine
        assert (await other.get("/v1/connections/slack")).json() == stored  # unchanged


async def test_a_request_without_a_key_is_401(executor_http: ExecutorHttp) -> None:
    async with executor_http.client() as client:
        client.headers.pop("authorization")
        answer = await client.get("/v1/connections")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("slack", {"secrets": {"bot_token": "x"}}, "service: Field required"),
        ("slack", {"service": "slack", "secrets": {}}, "secrets: Dictionary should have at least 1 item"),
        ("slack", {"service": "slack", "secrets": ["x"]}, "secrets: Input should be a valid dictionary"),
        ("slack", {**SLACK, "tenant": "other"}, "tenant: Extra inputs are not permitted"),
        ("slack", {"service": "Slack!", "secrets": {"a": "b"}}, "service: String should match pattern"),
        (
            "slack",
            {"service": "slack", "secrets": {"bot_tokn": "xoxb-typo"}},
            "secrets: slack connections need bot_token or token",
        ),
        (
            "mail",
            {"service": "smtp", "secrets": {"host": "smtp.example.com", "security": "tls", "port": 0}},
            "secrets: smtp connections need from_address; security must be one of starttls, ssl, none; "
            "port must be a number from 1 to 65535",
        ),
        (
            "api",
            {"service": "http", "secrets": {"username": "u"}},
            "secrets: http connections need bearer_token, username and password, or api_key",
        ),
        (
            "github",
            {"service": "connector", "secrets": {"base_url": "ftp://x", "actions": {}}},
            "secrets: base_url must be an http(s) URL; actions must be a non-empty mapping",
        ),
        (
            "openai",
            {"service": "llm", "secrets": {"api_key": "sk-x"}},
            "service: llm connections are the llm-gateway's provider keys",
        ),
        ("bad name", SLACK, "path.name: String should match pattern"),
    ],
)
async def test_an_invalid_body_is_422_with_the_reason(
    executor_http: ExecutorHttp, name: str, body: dict[str, Any], reason: str
) -> None:
    async with executor_http.client() as client:
        answer = await client.put(f"/v1/connections/{name}", json=body)
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"].startswith(reason), answer.json()["detail"]
        assert (await client.get("/v1/connections")).json() == {"connections": []}  # nothing stored


async def test_a_body_that_is_not_json_is_422(executor_http: ExecutorHttp) -> None:
    async with executor_http.client() as client:
        answer = await client.put(
            "/v1/connections/slack", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert answer.status_code == 422
    assert "JSON decode error" in answer.json()["detail"]


async def test_without_master_keys_nothing_is_stored_and_it_says_why(
    memory_settings: FlowbusSettings, tmp_path: Path, slack_api: HttpDouble
) -> None:
    settings = memory_settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "master_keys": None}
    )
    async for rig in serve_executor(settings, slack_api.url):
        async with rig.client() as client:
            answer = await client.put("/v1/connections/slack", json=SLACK)
            assert answer.status_code == 503
            assert answer.json()["detail"].startswith("no master key configured (FLOWBUS_MASTER_KEYS)")
            assert (await client.get("/v1/connections")).json() == {"connections": []}
