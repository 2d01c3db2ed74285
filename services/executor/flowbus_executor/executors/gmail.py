"""Gmail steps over the Gmail REST API as user "me" (connection service "gmail", secret
`access_token`, an OAuth bearer token).

- `gmail_fetch` / `gmail_search`: messages matching `query` (default "is:unread"), optionally
  `label_ids`, up to `max_results` (default 10), following `nextPageToken`; each message is then
  read with `format` "metadata" (default) or "full" (adds the decoded `text`/`html`).
  Output {messages: [{id, thread_id, snippet, from, to, subject, date, label_ids}], count}.
- `gmail_integration`, by `config.action`: `list` (as above), `message_get` (`message_id`, full
  format, body parts decoded), `message_modify` (`message_id`, `add_label_ids`,
  `remove_label_ids`), `message_delete` (`message_id`; permanent, not trash), `draft_create` and
  `send` (`to`, `cc`, `bcc`, `from`, `subject`, `body`, `html`, `thread_id`, `in_reply_to`,
  `references`; sent as an RFC 822 message, base64url).

Gmail's error bodies ({error: {code, message, status}}) are surfaced, secrets scrubbed; its
per-user rate-limit 403s are retryable like a 429.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import httpx

from flowbus_executor.deps import ExecutorDeps, choose_action, connection_for, require, secret
from flowbus_executor.http import failure_for, json_body, send
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler

SERVICE = "gmail"
DEFAULT_QUERY = "is:unread"
DEFAULT_MAX_RESULTS = 10
PAGE_LIMIT = 500  # the most messages.list returns a call
PARALLEL_GETS = 5  # messages.get in flight at once: quicker than one by one, well under the quota
METADATA_HEADERS = ("From", "To", "Subject", "Date")
# Google answers 403 (not 429) when a per-user or per-project rate limit is hit.
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}

Call = Callable[..., Awaitable[dict[str, Any]]]


def _describe(body: Any) -> str | None:
    """Gmail's error body: {"error": {"code", "message", "status"}}."""
    error = body.get("error")
    return f"{error.get('status') or 'error'}: {error['message']}" if error.get("message") else None


def _failure(response: httpx.Response, secrets: list[str]) -> StepFailure:
    failure = failure_for(response, service=SERVICE, secrets=secrets, describe=_describe)
    try:
        errors = response.json()["error"].get("errors") or []
    except (ValueError, AttributeError, TypeError, KeyError):
        errors = []
    reasons = {item.get("reason") for item in errors if isinstance(item, dict)}
    if response.status_code == 403 and reasons & RATE_LIMIT_REASONS:
        return StepFailure("rate_limit", failure.message, retryable=True)
    return failure


async def _client(deps: ExecutorDeps, request: StepRequest) -> Call:
    """A caller bound to the request's Gmail connection: (method, path, json=, params=) -> object."""
    connection = await connection_for(deps, request, SERVICE)
    token = secret(connection, "access_token")
    secrets = connection.secret_values()
    base = f"{deps.settings.gmail_api_url.rstrip('/')}/users/me"
    headers = {"Authorization": f"Bearer {token}"}

    async def call(method: str, path: str, **options: Any) -> dict[str, Any]:
        response = await send(
            deps.http,
            method,
            base + path,
            request=request,
            service=SERVICE,
            secrets=secrets,
            idempotency_header=None,  # Gmail does not take an Idempotency-Key header
            raise_for_status=False,
            headers=headers,
            **options,
        )
        if response.status_code >= 400:
            raise _failure(response, secrets)
        if response.status_code == 204 or not response.content:
            return {}
        data = json_body(response, service=SERVICE)
        if not isinstance(data, dict):
            raise StepFailure("bad_response", f"{SERVICE} answered {response.status_code} without an object")
        return data

    return call


def _segment(value: Any) -> str:
    # Ids go into the path: quoting keeps a crafted id from reaching another endpoint.
    return quote(str(value), safe="")


def _positive_int(config: dict[str, Any], name: str, default: int) -> int:
    value = config.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise StepFailure("invalid_config", f"{name} must be a positive integer")
    if int(value) < 1:
        raise StepFailure("invalid_config", f"{name} must be a positive integer")
    return int(value)


def _strings(config: dict[str, Any], name: str) -> list[str]:
    """A list of strings from a list or a comma-separated string."""
    value = config.get(name)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(item) for item in value]
    raise StepFailure("invalid_config", f"{name} must be a list or a comma-separated string")


def decode_base64url(data: str) -> bytes:
    # Gmail may leave the padding off; padding added past what is needed is ignored.
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        raise StepFailure("bad_response", f"{SERVICE} sent a body that is not base64url") from None


def _header(headers: list[dict[str, Any]], name: str) -> str | None:
    for header in headers:
        if str(header.get("name", "")).lower() == name.lower():
            return str(header.get("value", ""))
    return None


def _charset(part: dict[str, Any]) -> str:
    content_type = _header(part.get("headers") or [], "Content-Type") or ""
    for parameter in content_type.split(";")[1:]:
        key, _, value = parameter.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"


def _walk(part: dict[str, Any], found: dict[str, Any]) -> None:
    """Collect the first text/plain and text/html bodies and the attachments of a MIME tree."""
    mime_type = str(part.get("mimeType") or "")
    body = part.get("body") or {}
    if part.get("filename") and body.get("attachmentId"):
        found["attachments"].append(
            {
                "filename": part["filename"],
                "mime_type": mime_type,
                "attachment_id": body["attachmentId"],
                "size": body.get("size", 0),
            }
        )
    elif mime_type in ("text/plain", "text/html") and body.get("data"):
        key = "text" if mime_type == "text/plain" else "html"
        if found[key] is None:
            raw = decode_base64url(str(body["data"]))
            try:
                found[key] = raw.decode(_charset(part), errors="replace")
            except LookupError:  # a charset Python does not know
                found[key] = raw.decode("utf-8", errors="replace")
    for child in part.get("parts") or []:
        _walk(child, found)


def summary(message: dict[str, Any], *, bodies: bool) -> dict[str, Any]:
    payload = message.get("payload") or {}
    headers = payload.get("headers") or []
    result: dict[str, Any] = {
        "id": message.get("id"),
        "thread_id": message.get("threadId"),
        "snippet": message.get("snippet", ""),
        "from": _header(headers, "From"),
        "to": _header(headers, "To"),
        "subject": _header(headers, "Subject"),
        "date": _header(headers, "Date"),
        "label_ids": message.get("labelIds") or [],
    }
    if bodies:
        found: dict[str, Any] = {"text": None, "html": None, "attachments": []}
        _walk(payload, found)
        result.update(found)
    return result


async def _get_all(call: Call, ids: list[str], params: dict[str, Any]) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(PARALLEL_GETS)

    async def get(message_id: str) -> dict[str, Any]:
        async with gate:
            return await call("GET", f"/messages/{_segment(message_id)}", params=params)

    tasks: list[asyncio.Task[dict[str, Any]]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(get(message_id)) for message_id in ids]
    except ExceptionGroup as errors:
        # One failed read fails the step with its own classification, not a wrapped group.
        raise errors.exceptions[0] from None
    return [task.result() for task in tasks]


async def list_messages(call: Call, config: dict[str, Any]) -> dict[str, Any]:
    max_results = _positive_int(config, "max_results", DEFAULT_MAX_RESULTS)
    message_format = str(config.get("format") or "metadata")
    if message_format not in ("metadata", "full"):
        raise StepFailure("invalid_config", "format must be metadata or full")
    params: dict[str, Any] = {"q": str(config.get("query") or DEFAULT_QUERY)}
    if label_ids := _strings(config, "label_ids"):
        params["labelIds"] = label_ids
    ids: list[str] = []
    while len(ids) < max_results:
        page = await call(
            "GET", "/messages", params={**params, "maxResults": min(max_results - len(ids), PAGE_LIMIT)}
        )
        ids.extend(str(item["id"]) for item in page.get("messages") or [] if item.get("id"))
        token = page.get("nextPageToken")
        if not token:
            break
        params["pageToken"] = token
    get_params: dict[str, Any] = {"format": message_format}
    if message_format == "metadata":
        get_params["metadataHeaders"] = list(METADATA_HEADERS)
    messages = await _get_all(call, ids[:max_results], get_params)
    found = [summary(message, bodies=message_format == "full") for message in messages]
    return {"messages": found, "count": len(found)}


async def message_get(call: Call, config: dict[str, Any]) -> dict[str, Any]:
    (message_id,) = require(config, "message_id")
    message = await call("GET", f"/messages/{_segment(message_id)}", params={"format": "full"})
    return summary(message, bodies=True)


async def message_modify(call: Call, config: dict[str, Any]) -> dict[str, Any]:
    (message_id,) = require(config, "message_id")
    add, remove = _strings(config, "add_label_ids"), _strings(config, "remove_label_ids")
    if not add and not remove:
        raise StepFailure("invalid_config", "message_modify needs add_label_ids or remove_label_ids")
    answer = await call(
        "POST",
        f"/messages/{_segment(message_id)}/modify",
        json={"addLabelIds": add, "removeLabelIds": remove},
    )
    return {"id": answer.get("id"), "thread_id": answer.get("threadId"), "label_ids": answer.get("labelIds")}


async def message_delete(call: Call, config: dict[str, Any]) -> dict[str, Any]:
    (message_id,) = require(config, "message_id")
    await call("DELETE", f"/messages/{_segment(message_id)}")
    return {"id": str(message_id), "deleted": True}


def raw_message(config: dict[str, Any], *, need_recipient: bool) -> str:
    """An RFC 822 message of `config`, base64url-encoded as Gmail's `raw` field wants it."""
    to = _strings(config, "to")
    if need_recipient and not to:
        raise StepFailure("invalid_config", "missing to")
    message = EmailMessage()
    try:
        # The default policy refuses CR/LF in header values: no header injection via config.
        for name, values in (("To", to), ("Cc", _strings(config, "cc")), ("Bcc", _strings(config, "bcc"))):
            if values:
                message[name] = ", ".join(values)
        for name, key in (("From", "from"), ("In-Reply-To", "in_reply_to"), ("References", "references")):
            if config.get(key):
                message[name] = str(config[key])
        message["Subject"] = str(config.get("subject") or "")
        message.set_content(str(config.get("body") or ""))
        if config.get("html"):
            message.add_alternative(str(config["html"]), subtype="html")
    except ValueError as error:
        raise StepFailure("invalid_config", f"cannot build the message: {error}") from None
    return base64.urlsafe_b64encode(message.as_bytes()).decode("ascii")


def _outgoing(config: dict[str, Any], *, need_recipient: bool) -> dict[str, Any]:
    outgoing: dict[str, Any] = {"raw": raw_message(config, need_recipient=need_recipient)}
    if config.get("thread_id"):
        outgoing["threadId"] = str(config["thread_id"])
    return outgoing


async def draft_create(call: Call, config: dict[str, Any]) -> dict[str, Any]:
    answer = await call("POST", "/drafts", json={"message": _outgoing(config, need_recipient=False)})
    message = answer.get("message") or {}
    return {"id": answer.get("id"), "message_id": message.get("id"), "thread_id": message.get("threadId")}


async def send_message(call: Call, config: dict[str, Any]) -> dict[str, Any]:
    answer = await call("POST", "/messages/send", json=_outgoing(config, need_recipient=True))
    return {"id": answer.get("id"), "thread_id": answer.get("threadId"), "label_ids": answer.get("labelIds")}


ACTIONS: dict[str, Callable[[Call, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "list": list_messages,
    "message_get": message_get,
    "message_modify": message_modify,
    "message_delete": message_delete,
    "draft_create": draft_create,
    "send": send_message,
}


def handlers(deps: ExecutorDeps) -> dict[str, StepHandler]:
    async def gmail_integration(request: StepRequest) -> dict[str, Any]:
        action = choose_action(ACTIONS, request.config, "gmail")
        return await action(await _client(deps, request), request.config)

    async def gmail_messages(request: StepRequest) -> dict[str, Any]:
        return await list_messages(await _client(deps, request), request.config)

    # Fetching and searching are the same call; two names because workflows use both.
    return {
        "gmail_fetch": gmail_messages,
        "gmail_search": gmail_messages,
        "gmail_integration": gmail_integration,
    }
