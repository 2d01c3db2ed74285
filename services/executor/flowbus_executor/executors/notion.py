"""Notion steps over the Notion REST API (connection service "notion", secret `token`).

- `notion_integration`, by `config.action`:
  - `create_page`: parent `database_id` or `page_id` (or a whole `parent` mapping), `properties`;
    `title` (a plain string) fills the title property ("Name" under a database, "title" under a
    page; `title_property` renames it); `content` (text) and/or `children` (blocks) become the body;
  - `page_get` (`page_id`); `page_update` (`page_id`, `properties`, `archived`, `icon`, `cover`);
  - `db_query` (`database_id`, `filter`, `sorts`, `page_size`, `max_pages`); `db_get` (`database_id`);
  - `block_append` (`block_id` or `page_id`, `children` and/or `content`).
- `notion_search`: `query`, `filter`, `sort`, `page_size` (default 20), `max_pages`.
- `notion_db_query`: like the `db_query` action.

Listings follow `has_more`/`next_cursor` for up to `max_pages` pages (default 10) and answer
{results, count, has_more, next_cursor}; single objects are answered as Notion sends them.
Notion's error bodies ({code, message}) are surfaced in the failure, secrets scrubbed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx

from flowbus_executor.deps import ExecutorDeps, choose_action, connection_for, require, secret
from flowbus_executor.http import failure_for, json_body, send
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler

SERVICE = "notion"
DEFAULT_MAX_PAGES = 10
# Notion caps one rich-text object at 2000 characters and one request at 100 blocks.
TEXT_LIMIT = 2000
BLOCKS_PER_REQUEST = 100

Call = Callable[[str, str, dict[str, Any] | None], Awaitable[dict[str, Any]]]


def _describe(body: Any) -> str | None:
    """Notion's error body: {"object": "error", "code": ..., "message": ...}."""
    return f"{body.get('code') or 'error'}: {body['message']}" if body.get("message") else None


def _failure(response: httpx.Response, secrets: list[str]) -> StepFailure:
    return failure_for(response, service=SERVICE, secrets=secrets, describe=_describe)


async def _client(deps: ExecutorDeps, request: StepRequest) -> Call:
    """A caller bound to the request's Notion connection: (method, path, json body) -> object."""
    connection = await connection_for(deps, request, SERVICE)
    token = secret(connection, "token")
    secrets = connection.secret_values()
    base = deps.settings.notion_api_url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}", "Notion-Version": deps.settings.notion_version}

    async def call(method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        response = await send(
            deps.http,
            method,
            base + path,
            request=request,
            service=SERVICE,
            secrets=secrets,
            raise_for_status=False,
            headers=headers,
            json=body,
        )
        if response.status_code >= 400:
            raise _failure(response, secrets)
        data = json_body(response, service=SERVICE)
        if not isinstance(data, dict):
            raise StepFailure("bad_response", f"{SERVICE} answered {response.status_code} without an object")
        return data

    return call


def _segment(value: Any) -> str:
    # Ids go into the path: quoting keeps a crafted id from reaching another endpoint.
    return quote(str(value), safe="")


def _mapping(config: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = config.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise StepFailure("invalid_config", f"{name} must be a mapping")
    return value


def _list(config: dict[str, Any], name: str) -> list[Any] | None:
    value = config.get(name)
    if value is None:
        return None
    if not isinstance(value, list):
        raise StepFailure("invalid_config", f"{name} must be a list")
    return value


def _positive_int(config: dict[str, Any], name: str, default: int | None) -> int | None:
    value = config.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise StepFailure("invalid_config", f"{name} must be a positive integer")
    if int(value) < 1:
        raise StepFailure("invalid_config", f"{name} must be a positive integer")
    return int(value)


def rich_text(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "text", "text": {"content": text[start : start + TEXT_LIMIT]}}
        for start in range(0, len(text), TEXT_LIMIT)
    ]


def paragraphs(content: str) -> list[dict[str, Any]]:
    """Paragraph blocks of `content`, one per blank-line-separated paragraph."""
    parts = [part.strip() for part in content.replace("\r\n", "\n").split("\n\n")]
    return [
        {"object": "block", "type": "paragraph", "paragraph": {"rich_text": rich_text(part)}}
        for part in parts
        if part
    ]


def _children(config: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = list(_list(config, "children") or [])
    content = config.get("content")
    if content not in (None, ""):
        blocks.extend(paragraphs(str(content)))
    return blocks


async def _paginate(
    call: Call, method: str, path: str, body: dict[str, Any], max_pages: int
) -> dict[str, Any]:
    results: list[Any] = []
    cursor: str | None = None
    has_more = False
    for _ in range(max_pages):
        page = await call(method, path, {**body, "start_cursor": cursor} if cursor else body)
        results.extend(page.get("results") or [])
        has_more = bool(page.get("has_more"))
        cursor = page.get("next_cursor")
        if not has_more or not cursor:
            break
    # has_more/next_cursor stay set when max_pages stopped us, so a workflow can go on from there.
    return {
        "results": results,
        "count": len(results),
        "has_more": has_more,
        "next_cursor": cursor if has_more else None,
    }


async def db_query(call: Call, config: dict[str, Any]) -> dict[str, Any]:
    (database_id,) = require(config, "database_id")
    body: dict[str, Any] = {}
    if (filter_ := _mapping(config, "filter")) is not None:
        body["filter"] = filter_
    if (sorts := _list(config, "sorts")) is not None:
        body["sorts"] = sorts
    if (page_size := _positive_int(config, "page_size", None)) is not None:
        body["page_size"] = page_size
    max_pages = _positive_int(config, "max_pages", DEFAULT_MAX_PAGES) or DEFAULT_MAX_PAGES
    return await _paginate(call, "POST", f"/databases/{_segment(database_id)}/query", body, max_pages)


async def search(call: Call, config: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"page_size": _positive_int(config, "page_size", 20)}
    if config.get("query") not in (None, ""):
        body["query"] = str(config["query"])
    if (filter_ := _mapping(config, "filter")) is not None:
        body["filter"] = filter_
    if (sort := _mapping(config, "sort")) is not None:
        body["sort"] = sort
    max_pages = _positive_int(config, "max_pages", DEFAULT_MAX_PAGES) or DEFAULT_MAX_PAGES
    return await _paginate(call, "POST", "/search", body, max_pages)


async def create_page(call: Call, config: dict[str, Any]) -> dict[str, Any]:
    parent = _mapping(config, "parent")
    if parent is None:
        if config.get("database_id"):
            parent = {"database_id": str(config["database_id"])}
        elif config.get("page_id"):
            parent = {"page_id": str(config["page_id"])}
        else:
            raise StepFailure("invalid_config", "create_page needs database_id, page_id or parent")
    properties = dict(_mapping(config, "properties") or {})
    title = config.get("title")
    if title not in (None, ""):
        # A database's title column is "Name" unless renamed; a child page's is always "title".
        default_name = "Name" if "database_id" in parent else "title"
        name = str(config.get("title_property") or default_name)
        properties.setdefault(name, {"title": rich_text(str(title))})
    body: dict[str, Any] = {"parent": parent, "properties": properties}
    if children := _children(config):
        body["children"] = children
    for name in ("icon", "cover"):
        if (value := _mapping(config, name)) is not None:
            body[name] = value
    return await call("POST", "/pages", body)


async def page_get(call: Call, config: dict[str, Any]) -> dict[str, Any]:
    (page_id,) = require(config, "page_id")
    return await call("GET", f"/pages/{_segment(page_id)}", None)


async def page_update(call: Call, config: dict[str, Any]) -> dict[str, Any]:
    (page_id,) = require(config, "page_id")
    body: dict[str, Any] = {}
    if (properties := _mapping(config, "properties")) is not None:
        body["properties"] = properties
    if config.get("archived") is not None:
        if not isinstance(config["archived"], bool):
            raise StepFailure("invalid_config", "archived must be true or false")
        body["archived"] = config["archived"]
    for name in ("icon", "cover"):
        if (value := _mapping(config, name)) is not None:
            body[name] = value
    if not body:
        raise StepFailure("invalid_config", "page_update needs properties, archived, icon or cover")
    return await call("PATCH", f"/pages/{_segment(page_id)}", body)


async def db_get(call: Call, config: dict[str, Any]) -> dict[str, Any]:
    (database_id,) = require(config, "database_id")
    return await call("GET", f"/databases/{_segment(database_id)}", None)


async def block_append(call: Call, config: dict[str, Any]) -> dict[str, Any]:
    block_id = config.get("block_id") or config.get("page_id")
    if not block_id:
        raise StepFailure("invalid_config", "block_append needs block_id or page_id")
    children = _children(config)
    if not children:
        raise StepFailure("invalid_config", "block_append needs children or content")
    path = f"/blocks/{_segment(block_id)}/children"
    results: list[Any] = []
    # Notion takes at most 100 blocks a request; later batches land after the earlier ones.
    for start in range(0, len(children), BLOCKS_PER_REQUEST):
        answer = await call("PATCH", path, {"children": children[start : start + BLOCKS_PER_REQUEST]})
        results.extend(answer.get("results") or [])
    return {"results": results, "count": len(results)}


ACTIONS: dict[str, Callable[[Call, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "create_page": create_page,
    "page_get": page_get,
    "page_update": page_update,
    "db_query": db_query,
    "db_get": db_get,
    "block_append": block_append,
}


def handlers(deps: ExecutorDeps) -> dict[str, StepHandler]:
    async def notion_integration(request: StepRequest) -> dict[str, Any]:
        action = choose_action(ACTIONS, request.config, "notion")
        return await action(await _client(deps, request), request.config)

    async def notion_search(request: StepRequest) -> dict[str, Any]:
        return await search(await _client(deps, request), request.config)

    async def notion_db_query(request: StepRequest) -> dict[str, Any]:
        return await db_query(await _client(deps, request), request.config)

    return {
        "notion_integration": notion_integration,
        "notion_search": notion_search,
        "notion_db_query": notion_db_query,
    }
