"""No answer and no log line of the connections API carries a secret, whatever the request."""

from __future__ import annotations

import logging

import pytest

from tests.integration.executor_http.conftest import ExecutorHttp

SECRETS = {
    "slack": "xoxb-slack-secret-5f1e",
    "password": "smtp-password-9b2c",
    "bearer": "http-bearer-secret-77aa",
    "connector": "connector-token-31d0",
    "header": "connector-header-secret-c4e8",
    "pem": "-----BEGIN CERTIFICATE-----private-ca-0d1f",
}
CONNECTIONS = {
    "slack": {"service": "slack", "secrets": {"bot_token": SECRETS["slack"]}},
    "mail": {
        "service": "smtp",
        "secrets": {
            "host": "smtp.example.com",
            "username": "bot",
            "password": SECRETS["password"],
            "from_address": "bot@example.com",
            "ca_cert_pem": SECRETS["pem"],
        },
    },
    "api": {"service": "http", "secrets": {"bearer_token": SECRETS["bearer"]}},
    "github": {
        "service": "connector",
        "secrets": {
            "base_url": "https://api.github.com",
            "auth": {"scheme": "bearer", "token": SECRETS["connector"]},
            "headers": {"X-Extra": SECRETS["header"]},
            "actions": {"get": {"path": "/repos/{repo}?key=" + SECRETS["header"]}},
        },
    },
}


async def test_no_response_or_log_line_shows_a_secret(
    executor_http: ExecutorHttp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    async with executor_http.client() as admin, executor_http.client(role="viewer") as viewer:
        for name, body in CONNECTIONS.items():
            stored = await admin.put(f"/v1/connections/{name}", json=body)
            assert stored.status_code == 201, stored.text
            again = await admin.put(f"/v1/connections/{name}", json=body)  # replaced
            texts += [stored.text, again.text]
            texts += [(await viewer.get(f"/v1/connections/{name}")).text]
            texts += [(await viewer.put(f"/v1/connections/{name}", json=body)).text]  # 403
        texts += [(await viewer.get("/v1/connections")).text]
        # Refused bodies that carry secrets: the reason names fields, never values.
        misnamed = {"service": "slack", "secrets": {"bot_tokn": SECRETS["slack"]}}
        not_a_mapping = {"service": "slack", "secrets": SECRETS["slack"]}
        flat = {"service": "slack", "bot_token": SECRETS["slack"]}  # the secrets not under `secrets`
        for refused in (misnamed, not_a_mapping, flat):
            answer = await admin.put("/v1/connections/slack2", json=refused)
            assert answer.status_code == 422
            texts.append(answer.text)

    assert any("connection" in message and "stored" in message for message in caplog.messages)
    everything = "\n".join([*texts, caplog.text, *(str(record.args) for record in caplog.records)])
    for label, secret in SECRETS.items():
        assert secret not in everything, f"the {label} secret was shown"
