"""A connection stored through the API is what the executor's steps use: a slack_notification
step sent on the bus reaches the Slack double with the token put over HTTP, a replaced token
takes over at once, and a deleted (or another tenant's) connection is missing."""

from __future__ import annotations

from tests.integration.executor_http.conftest import ExecutorHttp
from tests.support.http_double import HttpDouble

FIRST, SECOND = "xoxb-first-bot-token-1a2b", "xoxb-second-bot-token-3c4d"
STEP = {"channel": "#ops", "message": "deploy done"}


async def test_a_slack_step_uses_the_connection_stored_through_the_api(
    executor_http: ExecutorHttp, slack_api: HttpDouble
) -> None:
    async with executor_http.client() as admin:
        stored = await admin.put(
            "/v1/connections/slack", json={"service": "slack", "secrets": {"bot_token": FIRST}}
        )
        assert stored.status_code == 201, stored.text

        sent = await executor_http.run_step("acme", "slack_notification", STEP)
        assert sent.status == "succeeded", sent.error
        assert sent.output["ts"] == "1700000000.000100"
        [call] = slack_api.requests
        assert (call.method, call.path) == ("POST", "/chat.postMessage")
        assert call.headers["Authorization"] == f"Bearer {FIRST}"
        assert call.body == {"channel": "#ops", "text": "deploy done"}

        rotated = await admin.put(
            "/v1/connections/slack", json={"service": "slack", "secrets": {"token": SECOND}}
        )
        assert rotated.status_code == 200, rotated.text
        assert (await executor_http.run_step("acme", "slack_notification", STEP)).status == "succeeded"
        assert slack_api.requests[-1].headers["Authorization"] == f"Bearer {SECOND}"

        other_tenant = await executor_http.run_step("globex", "slack_notification", STEP)
        assert other_tenant.status == "failed"
        assert other_tenant.error is not None
        assert other_tenant.error.error_type == "missing_connection"

        assert (await admin.delete("/v1/connections/slack")).status_code == 204
        deleted = await executor_http.run_step("acme", "slack_notification", STEP)
    assert deleted.status == "failed"
    assert deleted.error is not None
    assert deleted.error.error_type == "missing_connection"
    assert len(slack_api.requests) == 2  # neither failed step reached Slack
