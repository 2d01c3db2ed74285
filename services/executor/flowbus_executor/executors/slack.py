"""slack_notification: post a message with the Slack Web API (`chat.postMessage`).

config:
- `channel`: a channel name or id (default `#general`);
- `message` (or `text`): the message, Slack mrkdwn;
- `title`: optional; a bold first line of the text and, with `blocks`, a header block;
- `blocks`: optional Block Kit blocks (a list of mappings);
- `connection`: the tenant's connection to use (default `slack`; secret `bot_token` or `token`).

Slack answers most errors with HTTP 200 and `{"ok": false, "error": "<code>"}`; the
code decides the classification: rate limits and Slack-side faults are retryable,
auth and channel problems are permanent. output: {channel, ts, sent_at}.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from flowbus_executor.deps import ExecutorDeps, connection_for, secret
from flowbus_executor.http import json_body, redact, retry_after_seconds, send
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler

SERVICE = "slack"
DEFAULT_CHANNEL = "#general"
# Slack rejects header blocks whose plain text is longer than this.
HEADER_LIMIT = 150

# Slack's documented `error` codes of chat.postMessage, by what the orchestrator should do.
_RETRYABLE = {
    "ratelimited": "rate_limit",
    "internal_error": "server_error",
    "fatal_error": "server_error",
    "service_unavailable": "server_error",
    "request_timeout": "server_error",
}
_PERMANENT = {
    "invalid_auth": "unauthorized",
    "not_authed": "unauthorized",
    "token_revoked": "unauthorized",
    "token_expired": "unauthorized",
    "account_inactive": "unauthorized",
    "missing_scope": "forbidden",
    "channel_not_found": "not_found",
    "not_in_channel": "not_found",
    "is_archived": "bad_request",
}


def message_body(config: dict[str, Any]) -> dict[str, Any]:
    """The chat.postMessage JSON body for a step's config."""
    channel = str(config.get("channel") or DEFAULT_CHANNEL)
    message = config.get("message", config.get("text"))
    text = "" if message is None else str(message)
    title = str(config.get("title") or "").strip()
    blocks = config.get("blocks")
    if blocks is not None and (
        not isinstance(blocks, list) or not all(isinstance(block, dict) for block in blocks)
    ):
        raise StepFailure("invalid_config", "blocks must be a list of Block Kit mappings")
    if not text and not title and not blocks:
        raise StepFailure("invalid_config", "missing message (or text, title, blocks)")
    if title:
        # The text is the notification and screen-reader fallback even when blocks are sent,
        # so the title goes there too.
        text = f"*{title}*\n{text}" if text else f"*{title}*"
    body: dict[str, Any] = {"channel": channel, "text": text}
    if blocks:
        if title:
            header = {"type": "header", "text": {"type": "plain_text", "text": title[:HEADER_LIMIT]}}
            blocks = [header, *blocks]
        body["blocks"] = blocks
    return body


def slack_failure(response: httpx.Response, code: str, secrets: list[str]) -> StepFailure:
    """Classify an `ok: false` answer by its error code."""
    detail = redact(f"slack refused the message: {code}", secrets)
    if code in _RETRYABLE:
        return StepFailure(
            _RETRYABLE[code], detail, retryable=True, retry_after_seconds=retry_after_seconds(response)
        )
    return StepFailure(_PERMANENT.get(code, "bad_request"), detail)


def _sent_at(ts: str) -> str:
    """Slack's message ts is the epoch second it stored the message; the clock is a fallback."""
    try:
        return datetime.fromtimestamp(float(ts), UTC).isoformat()
    except (TypeError, ValueError, OverflowError):
        return datetime.now(UTC).isoformat()


async def post_message(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    body = message_body(request.config)
    connection = await connection_for(deps, request, SERVICE)
    token = secret(connection, "bot_token", "token")
    secrets = connection.secret_values()
    response = await send(
        deps.http,
        "POST",
        f"{deps.settings.slack_api_url.rstrip('/')}/chat.postMessage",
        request=request,
        service=SERVICE,
        secrets=secrets,
        # chat.postMessage has no idempotency key; a redelivered attempt is caught by the
        # step worker's attempt log instead.
        idempotency_header=None,
        headers={"Authorization": f"Bearer {token}"},
        json=body,
    )
    answer = json_body(response, service=SERVICE)
    if not isinstance(answer, dict):
        raise StepFailure("bad_response", "slack answered without a JSON object")
    if not answer.get("ok"):
        raise slack_failure(response, str(answer.get("error") or "unknown_error"), secrets)
    ts = str(answer.get("ts") or "")
    return {"channel": answer.get("channel") or body["channel"], "ts": ts, "sent_at": _sent_at(ts)}


def handlers(deps: ExecutorDeps) -> dict[str, StepHandler]:
    async def slack_notification(request: StepRequest) -> dict[str, Any]:
        return await post_message(deps, request)

    return {"slack_notification": slack_notification}
