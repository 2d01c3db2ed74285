"""slack_notification against a loopback double speaking Slack's Web API wire format:
`POST /chat.postMessage` with a bearer token, answered `{"ok": true, "ts": ...}` or
HTTP 200 `{"ok": false, "error": "<code>"}`, or 429 with Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors import slack
from flowbus_shared.step_worker import StepFailure
from tests.support.executor_deps import TENANT, executor_deps, step_request
from tests.support.http_double import Recorded, http_double

TOKEN = "xoxb-1234-5678-secret-bot-token"


def posted(recorded: Recorded) -> tuple[int, Any]:
    """Slack's success answer: the channel id and the message's ts."""
    return 200, {"ok": True, "channel": "C024BE91L", "ts": "1700000000.000100", "message": {}}


def slack_error(code: str) -> Callable[[Recorded], tuple[int, Any]]:
    return lambda _recorded: (200, {"ok": False, "error": code})


@asynccontextmanager
async def slack_deps(tmp_path: Path, url: str) -> AsyncIterator[ExecutorDeps]:
    async with executor_deps(tmp_path / "x.db", slack_api_url=url) as deps:
        await deps.vault.put(TENANT, "slack", "slack", {"bot_token": TOKEN})
        yield deps


async def notify(deps: ExecutorDeps, config: dict[str, Any]) -> dict[str, Any]:
    return await slack.handlers(deps)["slack_notification"](step_request("slack_notification", config))


async def fail(deps: ExecutorDeps, config: dict[str, Any]) -> StepFailure:
    with pytest.raises(StepFailure) as caught:
        await notify(deps, config)
    return caught.value


async def test_posts_the_message_with_the_bot_token(tmp_path: Path) -> None:
    with http_double(posted) as double:
        async with slack_deps(tmp_path, double.url) as deps:
            output = await notify(deps, {"channel": "#ops", "message": "deploy done"})
    assert output == {"channel": "C024BE91L", "ts": "1700000000.000100", "sent_at": output["sent_at"]}
    assert output["sent_at"].startswith("2023-11-14T22:13:20")
    [call] = double.requests
    assert (call.method, call.path) == ("POST", "/chat.postMessage")
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.headers["Content-Type"].startswith("application/json")
    assert "Idempotency-Key" not in call.headers  # Slack has none; it is not sent
    assert call.body == {"channel": "#ops", "text": "deploy done"}


async def test_channel_defaults_to_general_and_text_is_an_alias(tmp_path: Path) -> None:
    with http_double(posted) as double:
        async with slack_deps(tmp_path, double.url) as deps:
            await notify(deps, {"text": "hello"})
    assert double.requests[0].body == {"channel": "#general", "text": "hello"}


async def test_title_is_a_bold_first_line(tmp_path: Path) -> None:
    with http_double(posted) as double:
        async with slack_deps(tmp_path, double.url) as deps:
            await notify(deps, {"channel": "C1", "title": "Invoice overdue", "message": "INV-7 is late"})
    assert double.requests[0].body == {"channel": "C1", "text": "*Invoice overdue*\nINV-7 is late"}


async def test_blocks_are_sent_after_a_header_block_for_the_title(tmp_path: Path) -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "*INV-7* is late"}}
    with http_double(posted) as double:
        async with slack_deps(tmp_path, double.url) as deps:
            await notify(
                deps, {"channel": "C1", "title": "Overdue", "message": "INV-7 is late", "blocks": [section]}
            )
    body = double.requests[0].body
    assert body["text"] == "*Overdue*\nINV-7 is late"  # the notification fallback
    assert body["blocks"] == [
        {"type": "header", "text": {"type": "plain_text", "text": "Overdue"}},
        section,
    ]


async def test_blocks_without_a_title_are_sent_as_given(tmp_path: Path) -> None:
    blocks = [{"type": "divider"}]
    with http_double(posted) as double:
        async with slack_deps(tmp_path, double.url) as deps:
            await notify(deps, {"channel": "C1", "blocks": blocks})
    assert double.requests[0].body == {"channel": "C1", "text": "", "blocks": blocks}


async def test_config_without_a_message_or_with_bad_blocks_is_invalid(tmp_path: Path) -> None:
    with http_double(posted) as double:
        async with slack_deps(tmp_path, double.url) as deps:
            empty = await fail(deps, {"channel": "C1"})
            bad_blocks = await fail(deps, {"message": "x", "blocks": "not a list"})
    assert (empty.error_type, empty.retryable) == ("invalid_config", False)
    assert (bad_blocks.error_type, bad_blocks.retryable) == ("invalid_config", False)
    assert double.requests == []


async def test_channel_not_found_is_permanent(tmp_path: Path) -> None:
    with http_double(slack_error("channel_not_found")) as double:
        async with slack_deps(tmp_path, double.url) as deps:
            failure = await fail(deps, {"channel": "#nope", "message": "x"})
    assert (failure.error_type, failure.retryable) == ("not_found", False)
    assert "channel_not_found" in failure.message


@pytest.mark.parametrize("code", ["invalid_auth", "not_authed", "token_revoked", "account_inactive"])
async def test_auth_errors_are_permanent_and_never_show_the_token(tmp_path: Path, code: str) -> None:
    def refuse(_recorded: Recorded) -> tuple[int, Any]:
        # A careless service might echo the token back; it must still not reach the error.
        return 200, {"ok": False, "error": code, "detail": TOKEN}

    with http_double(refuse) as double:
        async with slack_deps(tmp_path, double.url) as deps:
            failure = await fail(deps, {"message": "x"})
    assert (failure.error_type, failure.retryable) == ("unauthorized", False)
    assert code in failure.message
    assert TOKEN not in failure.message
    assert TOKEN not in str(failure)


async def test_ratelimited_in_a_200_answer_is_retryable(tmp_path: Path) -> None:
    with http_double(slack_error("ratelimited")) as double:
        async with slack_deps(tmp_path, double.url) as deps:
            failure = await fail(deps, {"message": "x"})
    assert (failure.error_type, failure.retryable) == ("rate_limit", True)


async def test_429_honours_retry_after(tmp_path: Path) -> None:
    def limited(_recorded: Recorded) -> tuple[int, Any, dict[str, str]]:
        return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}

    with http_double(limited) as double:
        async with slack_deps(tmp_path, double.url) as deps:
            failure = await fail(deps, {"message": "x"})
    assert (failure.error_type, failure.retryable) == ("rate_limit", True)
    assert failure.retry_after_seconds == 7


@pytest.mark.parametrize("code", ["internal_error", "fatal_error", "service_unavailable"])
async def test_slack_side_faults_are_retryable(tmp_path: Path, code: str) -> None:
    with http_double(slack_error(code)) as double:
        async with slack_deps(tmp_path, double.url) as deps:
            failure = await fail(deps, {"message": "x"})
    assert (failure.error_type, failure.retryable) == ("server_error", True)


async def test_other_error_codes_are_permanent(tmp_path: Path) -> None:
    with http_double(slack_error("msg_too_long")) as double:
        async with slack_deps(tmp_path, double.url) as deps:
            failure = await fail(deps, {"message": "x"})
    assert (failure.error_type, failure.retryable) == ("bad_request", False)


async def test_503_is_retryable(tmp_path: Path) -> None:
    with http_double(lambda _recorded: (503, b"upstream unavailable")) as double:
        async with slack_deps(tmp_path, double.url) as deps:
            failure = await fail(deps, {"message": "x"})
    assert (failure.error_type, failure.retryable) == ("server_error", True)


async def test_slack_down_is_a_retryable_connection_failure(tmp_path: Path) -> None:
    with http_double(posted) as double:
        url = double.url  # nothing listens there once the double has stopped
    async with slack_deps(tmp_path, url) as deps:
        failure = await fail(deps, {"message": "x"})
    assert (failure.error_type, failure.retryable) == ("connection", True)
    assert TOKEN not in failure.message


async def test_without_a_slack_connection_the_step_fails_permanently(tmp_path: Path) -> None:
    with http_double(posted) as double:
        async with executor_deps(tmp_path / "x.db", slack_api_url=double.url) as deps:
            failure = await fail(deps, {"message": "x"})
            await deps.vault.put(TENANT, "slack", "slack", {"signing_secret": "abcd"})
            no_token = await fail(deps, {"message": "x"})
    assert (failure.error_type, failure.retryable) == ("missing_connection", False)
    assert (no_token.error_type, no_token.retryable) == ("invalid_connection", False)
    assert double.requests == []
