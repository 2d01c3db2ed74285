"""Gmail steps against a loopback double speaking the Gmail REST API's documented wire format:
listing with nextPageToken, per-message reads, base64url bodies, RFC 822 sends, and errors."""

from __future__ import annotations

import base64
import email
import email.policy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from flowbus_executor.executors.gmail import handlers
from flowbus_shared.step_worker import StepFailure, StepHandler
from tests.support.executor_deps import TENANT, executor_deps, step_request
from tests.support.http_double import Recorded, http_double

TOKEN = "ya29.gmail-access-token-4b1d"


@asynccontextmanager
async def gmail(tmp_path: Path, url: str, *, connect: bool = True) -> AsyncIterator[dict[str, StepHandler]]:
    async with executor_deps(tmp_path / "x.db", gmail_api_url=url) as deps:
        if connect:
            await deps.vault.put(
                TENANT, "gmail", "gmail", {"access_token": TOKEN, "refresh_token": "1//refresh"}
            )
        yield handlers(deps)


def split(recorded: Recorded) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(recorded.path)
    return parts.path, parse_qs(parts.query)


def assert_gmail_headers(recorded: Recorded) -> None:
    headers = {name.lower(): value for name, value in recorded.headers.items()}
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert "idempotency-key" not in headers


def b64url(data: bytes) -> str:
    # Gmail sends base64url without padding.
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def metadata(message_id: str) -> dict[str, Any]:
    return {
        "id": message_id,
        "threadId": f"t-{message_id}",
        "labelIds": ["INBOX", "UNREAD"],
        "snippet": f"snippet of {message_id}",
        "payload": {
            "headers": [
                {"name": "From", "value": "Ann <ann@example.com>"},
                {"name": "to", "value": "me@example.com"},  # header names arrive in any case
                {"name": "Subject", "value": f"About {message_id}"},
                {"name": "Date", "value": "Tue, 1 Oct 2024 09:00:00 +0000"},
            ]
        },
    }


def mailbox(recorded: Recorded) -> tuple[int, Any]:
    """Three matching messages over two list pages, and each message's metadata."""
    path, query = split(recorded)
    if path == "/users/me/messages":
        if "pageToken" not in query:
            return 200, {"messages": [{"id": "m1", "threadId": "t-m1"}, {"id": "m2", "threadId": "t-m2"}],
                         "nextPageToken": "page-2", "resultSizeEstimate": 3}  # fmt: skip
        return 200, {"messages": [{"id": "m3", "threadId": "t-m3"}], "resultSizeEstimate": 3}
    return 200, metadata(path.rsplit("/", 1)[1])


@pytest.mark.parametrize("step_type", ["gmail_fetch", "gmail_search"])
async def test_fetch_pages_through_the_listing_and_reads_each_messages_metadata(
    tmp_path: Path, step_type: str
) -> None:
    with http_double(mailbox) as double:
        async with gmail(tmp_path, double.url) as steps:
            config = {"query": "from:ann newer_than:1d", "max_results": 5}
            output = await steps[step_type](step_request(step_type, config))
    assert output["count"] == 3
    assert [message["id"] for message in output["messages"]] == ["m1", "m2", "m3"]
    assert output["messages"][0] == {
        "id": "m1",
        "thread_id": "t-m1",
        "snippet": "snippet of m1",
        "from": "Ann <ann@example.com>",
        "to": "me@example.com",
        "subject": "About m1",
        "date": "Tue, 1 Oct 2024 09:00:00 +0000",
        "label_ids": ["INBOX", "UNREAD"],
    }
    first, second, *reads = double.requests
    assert split(first) == ("/users/me/messages", {"q": ["from:ann newer_than:1d"], "maxResults": ["5"]})
    assert split(second) == (
        "/users/me/messages",
        {"q": ["from:ann newer_than:1d"], "maxResults": ["3"], "pageToken": ["page-2"]},
    )
    # Reads run a few at a time, so they arrive in any order.
    assert sorted(split(read)[0] for read in reads) == [f"/users/me/messages/m{n}" for n in (1, 2, 3)]
    for read in [first, second, *reads]:
        assert read.method == "GET"
        assert_gmail_headers(read)
    for read in reads:
        _path, query = split(read)
        assert query == {"format": ["metadata"], "metadataHeaders": ["From", "To", "Subject", "Date"]}


async def test_fetch_defaults_to_ten_unread_and_stops_at_max_results(tmp_path: Path) -> None:
    def many(recorded: Recorded) -> tuple[int, Any]:
        path, _query = split(recorded)
        if path == "/users/me/messages":
            ids = [{"id": f"m{n}", "threadId": "t"} for n in range(10)]
            return 200, {"messages": ids, "nextPageToken": "more"}
        return 200, metadata(path.rsplit("/", 1)[1])

    with http_double(many) as double:
        async with gmail(tmp_path, double.url) as steps:
            output = await steps["gmail_fetch"](step_request("gmail_fetch", {}))
    assert output["count"] == 10
    listings = [split(read) for read in double.requests if split(read)[0] == "/users/me/messages"]
    assert listings == [("/users/me/messages", {"q": ["is:unread"], "maxResults": ["10"]})]


async def test_message_get_decodes_the_base64url_body_parts(tmp_path: Path) -> None:
    text = "Grüße — the plan?>>> is ready ~~~".encode()  # bytes that base64url writes with - and _
    html = "<p>Grüße</p>".encode()
    message = {
        "id": "m7",
        "threadId": "t7",
        "labelIds": ["INBOX"],
        "snippet": "Grüße",
        "payload": {
            "mimeType": "multipart/mixed",
            "headers": [{"name": "Subject", "value": "Plan"}, {"name": "From", "value": "bo@example.com"}],
            "parts": [
                {
                    "mimeType": "multipart/alternative",
                    "parts": [
                        {
                            "mimeType": "text/plain",
                            "headers": [{"name": "Content-Type", "value": 'text/plain; charset="UTF-8"'}],
                            "body": {"size": len(text), "data": b64url(text)},
                        },
                        {"mimeType": "text/html", "body": {"size": len(html), "data": b64url(html)}},
                    ],
                },
                {
                    "mimeType": "application/pdf",
                    "filename": "plan.pdf",
                    "body": {"attachmentId": "att-1", "size": 1234},
                },
            ],
        },
    }
    assert "-" in b64url(text) or "_" in b64url(text)
    with http_double(lambda _recorded: (200, message)) as double:
        async with gmail(tmp_path, double.url) as steps:
            config = {"action": "message_get", "message_id": "m7"}
            output = await steps["gmail_integration"](step_request("gmail_integration", config))
    [read] = double.requests
    assert (read.method, *split(read)) == ("GET", "/users/me/messages/m7", {"format": ["full"]})
    assert output["text"] == text.decode()
    assert output["html"] == html.decode()
    assert output["attachments"] == [
        {"filename": "plan.pdf", "mime_type": "application/pdf", "attachment_id": "att-1", "size": 1234}
    ]
    assert (output["subject"], output["from"], output["thread_id"]) == ("Plan", "bo@example.com", "t7")


async def test_message_modify_posts_the_label_changes(tmp_path: Path) -> None:
    answer = {"id": "m1", "threadId": "t1", "labelIds": ["INBOX", "Label_5"]}
    with http_double(lambda _recorded: (200, answer)) as double:
        async with gmail(tmp_path, double.url) as steps:
            config = {
                "action": "message_modify",
                "message_id": "m1",
                "add_label_ids": ["Label_5"],
                "remove_label_ids": "UNREAD",
            }
            output = await steps["gmail_integration"](step_request("gmail_integration", config))
    [call] = double.requests
    assert (call.method, call.path) == ("POST", "/users/me/messages/m1/modify")
    assert call.body == {"addLabelIds": ["Label_5"], "removeLabelIds": ["UNREAD"]}
    assert_gmail_headers(call)
    assert output == {"id": "m1", "thread_id": "t1", "label_ids": ["INBOX", "Label_5"]}


async def test_message_delete_accepts_gmails_empty_204(tmp_path: Path) -> None:
    with http_double(lambda _recorded: (204, b"")) as double:
        async with gmail(tmp_path, double.url) as steps:
            config = {"action": "message_delete", "message_id": "m1"}
            output = await steps["gmail_integration"](step_request("gmail_integration", config))
    [call] = double.requests
    assert (call.method, call.path) == ("DELETE", "/users/me/messages/m1")
    assert_gmail_headers(call)
    assert output == {"id": "m1", "deleted": True}


def parse_raw(raw: str) -> EmailMessage:
    message = email.message_from_bytes(base64.urlsafe_b64decode(raw), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


async def test_send_posts_an_rfc822_message_as_base64url(tmp_path: Path) -> None:
    answer = {"id": "sent-1", "threadId": "t-9", "labelIds": ["SENT"]}
    with http_double(lambda _recorded: (200, answer)) as double:
        async with gmail(tmp_path, double.url) as steps:
            config = {
                "action": "send",
                "to": ["ann@example.com", "bo@example.com"],
                "cc": "cy@example.com",
                "subject": "Invoice INV-42 — paid",
                "body": "Thanks, received.\n",
                "html": "<p>Thanks, <b>received</b>.</p>",
                "thread_id": "t-9",
            }
            output = await steps["gmail_integration"](step_request("gmail_integration", config))
    assert output == {"id": "sent-1", "thread_id": "t-9", "label_ids": ["SENT"]}
    [call] = double.requests
    assert (call.method, call.path) == ("POST", "/users/me/messages/send")
    assert_gmail_headers(call)
    assert set(call.body) == {"raw", "threadId"}
    assert call.body["threadId"] == "t-9"
    sent = parse_raw(call.body["raw"])
    assert sent["To"] == "ann@example.com, bo@example.com"
    assert sent["Cc"] == "cy@example.com"
    assert sent["Subject"] == "Invoice INV-42 — paid"
    plain, rich = sent.get_body(("plain",)), sent.get_body(("html",))
    assert plain is not None
    assert rich is not None
    assert plain.get_content() == "Thanks, received.\n"
    assert rich.get_content().strip() == "<p>Thanks, <b>received</b>.</p>"


async def test_draft_create_posts_the_message_under_drafts(tmp_path: Path) -> None:
    answer = {"id": "r-1", "message": {"id": "m-1", "threadId": "t-1", "labelIds": ["DRAFT"]}}
    with http_double(lambda _recorded: (200, answer)) as double:
        async with gmail(tmp_path, double.url) as steps:
            config = {"action": "draft_create", "to": "ann@example.com", "subject": "Draft", "body": "Later."}
            output = await steps["gmail_integration"](step_request("gmail_integration", config))
    assert output == {"id": "r-1", "message_id": "m-1", "thread_id": "t-1"}
    [call] = double.requests
    assert (call.method, call.path) == ("POST", "/users/me/drafts")
    drafted = parse_raw(call.body["message"]["raw"])
    assert (drafted["To"], drafted["Subject"]) == ("ann@example.com", "Draft")
    assert drafted.get_content().strip() == "Later."


async def test_a_rejected_token_is_a_permanent_unauthorized_without_the_token(tmp_path: Path) -> None:
    error = {
        "error": {
            "code": 401,
            "message": f"Request had invalid authentication credentials ({TOKEN}).",
            "status": "UNAUTHENTICATED",
        }
    }
    with http_double(lambda _recorded: (401, error)) as double:
        async with gmail(tmp_path, double.url) as steps:
            with pytest.raises(StepFailure) as caught:
                await steps["gmail_fetch"](step_request("gmail_fetch", {}))
    failure = caught.value
    assert failure.error_type == "unauthorized"
    assert not failure.retryable
    assert "Request had invalid authentication credentials" in failure.message
    assert "UNAUTHENTICATED" in failure.message
    assert TOKEN not in failure.message


async def test_an_invalid_argument_surfaces_gmails_message(tmp_path: Path) -> None:
    error = {"error": {"code": 400, "message": "Invalid id value", "status": "INVALID_ARGUMENT"}}
    with http_double(lambda _recorded: (400, error)) as double:
        async with gmail(tmp_path, double.url) as steps:
            config = {"action": "message_get", "message_id": "nope"}
            with pytest.raises(StepFailure) as caught:
                await steps["gmail_integration"](step_request("gmail_integration", config))
    assert caught.value.error_type == "bad_request"
    assert "Invalid id value" in caught.value.message


async def test_a_user_rate_limit_403_is_retryable(tmp_path: Path) -> None:
    error = {
        "error": {
            "code": 403,
            "message": "User-rate limit exceeded.",
            "errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded"}],
            "status": "PERMISSION_DENIED",
        }
    }
    with http_double(lambda _recorded: (403, error)) as double:
        async with gmail(tmp_path, double.url) as steps:
            with pytest.raises(StepFailure) as caught:
                await steps["gmail_search"](step_request("gmail_search", {"query": "x"}))
    assert caught.value.error_type == "rate_limit"
    assert caught.value.retryable


async def test_a_failed_read_fails_the_step_with_its_own_classification(tmp_path: Path) -> None:
    def one_gone(recorded: Recorded) -> tuple[int, Any]:
        path, _query = split(recorded)
        if path == "/users/me/messages":
            return 200, {"messages": [{"id": "m1"}, {"id": "m2"}]}
        if path.endswith("/m2"):
            return 404, {
                "error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}
            }
        return 200, metadata("m1")

    with http_double(one_gone) as double:
        async with gmail(tmp_path, double.url) as steps:
            with pytest.raises(StepFailure) as caught:
                await steps["gmail_fetch"](step_request("gmail_fetch", {}))
    assert caught.value.error_type == "not_found"


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"action": "archive_everything"}, id="unknown-action"),
        pytest.param({"action": "send", "subject": "no recipient"}, id="send-without-to"),
        pytest.param(
            {"action": "send", "to": "a@example.com", "subject": "x\nBcc: all@example.com"}, id="injection"
        ),
        pytest.param({"action": "message_modify", "message_id": "m1"}, id="modify-without-labels"),
        pytest.param({"action": "list", "max_results": "many"}, id="bad-max_results"),
    ],
)
async def test_bad_config_is_invalid_config_and_sends_nothing(tmp_path: Path, config: dict[str, Any]) -> None:
    with http_double(lambda _recorded: (200, {})) as double:
        async with gmail(tmp_path, double.url) as steps:
            with pytest.raises(StepFailure) as caught:
                await steps["gmail_integration"](step_request("gmail_integration", config))
    assert caught.value.error_type == "invalid_config"
    assert double.requests == []


async def test_without_a_connection_the_step_fails_with_missing_connection(tmp_path: Path) -> None:
    with http_double(lambda _recorded: (200, {})) as double:
        async with gmail(tmp_path, double.url, connect=False) as steps:
            with pytest.raises(StepFailure) as caught:
                await steps["gmail_fetch"](step_request("gmail_fetch", {}))
    assert caught.value.error_type == "missing_connection"
    assert double.requests == []
