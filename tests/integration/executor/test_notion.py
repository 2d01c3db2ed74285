"""Notion steps against a loopback double speaking Notion's documented wire format: methods,
paths, headers and bodies of each action, cursor pagination, and error classification."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from flowbus_executor.executors.notion import handlers
from flowbus_shared.step_worker import StepFailure, StepHandler
from tests.support.executor_deps import TENANT, executor_deps, step_request
from tests.support.http_double import Recorded, http_double

TOKEN = "secret_notion_7f3a9c2b"
VERSION = "2022-06-28"
PAGE = {"object": "page", "id": "page-1", "url": "https://www.notion.so/page-1", "properties": {}}


@asynccontextmanager
async def notion(tmp_path: Path, url: str, *, connect: bool = True) -> AsyncIterator[dict[str, StepHandler]]:
    async with executor_deps(tmp_path / "x.db", notion_api_url=url, notion_version=VERSION) as deps:
        if connect:
            await deps.vault.put(TENANT, "notion", "notion", {"token": TOKEN})
        yield handlers(deps)


def assert_notion_headers(recorded: Recorded) -> None:
    headers = {name.lower(): value for name, value in recorded.headers.items()}
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["notion-version"] == VERSION
    if recorded.body is not None:
        assert headers["content-type"] == "application/json"


def paragraph(text: str) -> dict[str, Any]:
    return {
        "object": "block",
        "type": "paragraph",
        "paragraph": {"rich_text": [{"type": "text", "text": {"content": text}}]},
    }


def title(text: str) -> dict[str, Any]:
    return {"title": [{"type": "text", "text": {"content": text}}]}


@pytest.mark.parametrize(
    ("config", "method", "path", "body"),
    [
        pytest.param(
            {"action": "create_page", "database_id": "db-1", "title": "Q3 plan", "content": "One.\n\nTwo."},
            "POST",
            "/pages",
            {
                "parent": {"database_id": "db-1"},
                "properties": {"Name": title("Q3 plan")},
                "children": [paragraph("One."), paragraph("Two.")],
            },
            id="create_page-in-database",
        ),
        pytest.param(
            {
                "action": "create_page",
                "page_id": "page-0",
                "title": "Notes",
                "properties": {"Tag": {"select": {"name": "x"}}},
            },
            "POST",
            "/pages",
            {
                "parent": {"page_id": "page-0"},
                "properties": {"Tag": {"select": {"name": "x"}}, "title": title("Notes")},
            },
            id="create_page-under-page",
        ),
        pytest.param(
            {"action": "page_get", "page_id": "page-1"}, "GET", "/pages/page-1", None, id="page_get"
        ),
        pytest.param(
            {
                "action": "page_update",
                "page_id": "page-1",
                "properties": {"Done": {"checkbox": True}},
                "archived": True,
            },
            "PATCH",
            "/pages/page-1",
            {"properties": {"Done": {"checkbox": True}}, "archived": True},
            id="page_update",
        ),
        pytest.param(
            {"action": "db_get", "database_id": "db-1"}, "GET", "/databases/db-1", None, id="db_get"
        ),
    ],
)
async def test_each_action_sends_its_documented_request(
    tmp_path: Path, config: dict[str, Any], method: str, path: str, body: Any
) -> None:
    with http_double(lambda _recorded: (200, PAGE)) as double:
        async with notion(tmp_path, double.url) as steps:
            output = await steps["notion_integration"](step_request("notion_integration", config))
    assert output == PAGE
    [recorded] = double.requests
    assert (recorded.method, recorded.path, recorded.body) == (method, path, body)
    assert_notion_headers(recorded)


async def test_block_append_turns_content_into_paragraphs_after_the_given_children(tmp_path: Path) -> None:
    heading = {"object": "block", "type": "heading_2", "heading_2": {"rich_text": []}}
    answer = {"object": "list", "results": [{"id": "b1"}, {"id": "b2"}], "has_more": False}
    with http_double(lambda _recorded: (200, answer)) as double:
        async with notion(tmp_path, double.url) as steps:
            config = {"action": "block_append", "page_id": "page-1", "children": [heading], "content": "Hi"}
            output = await steps["notion_integration"](step_request("notion_integration", config))
    assert output == {"results": [{"id": "b1"}, {"id": "b2"}], "count": 2}
    [recorded] = double.requests
    assert (recorded.method, recorded.path) == ("PATCH", "/blocks/page-1/children")
    assert recorded.body == {"children": [heading, paragraph("Hi")]}
    assert_notion_headers(recorded)


async def test_long_content_is_split_into_text_objects_notion_accepts(tmp_path: Path) -> None:
    with http_double(lambda _recorded: (200, {"results": []})) as double:
        async with notion(tmp_path, double.url) as steps:
            config = {"action": "block_append", "block_id": "b-9", "content": "x" * 4500}
            await steps["notion_integration"](step_request("notion_integration", config))
    [block] = double.requests[0].body["children"]
    pieces = [item["text"]["content"] for item in block["paragraph"]["rich_text"]]
    assert [len(piece) for piece in pieces] == [2000, 2000, 500]


def two_pages(recorded: Recorded) -> tuple[int, Any]:
    if recorded.body.get("start_cursor") is None:
        return 200, {
            "object": "list",
            "results": [{"id": "r1"}, {"id": "r2"}],
            "has_more": True,
            "next_cursor": "c2",
        }
    assert recorded.body["start_cursor"] == "c2"
    return 200, {"object": "list", "results": [{"id": "r3"}], "has_more": False, "next_cursor": None}


@pytest.mark.parametrize("step_type", ["notion_integration", "notion_db_query"])
async def test_db_query_follows_the_cursor_and_returns_every_result(tmp_path: Path, step_type: str) -> None:
    config = {
        "action": "db_query",
        "database_id": "db-1",
        "filter": {"property": "Done", "checkbox": {"equals": False}},
        "sorts": [{"property": "Due", "direction": "ascending"}],
        "page_size": 2,
    }
    with http_double(two_pages) as double:
        async with notion(tmp_path, double.url) as steps:
            output = await steps[step_type](step_request(step_type, config))
    assert output == {
        "results": [{"id": "r1"}, {"id": "r2"}, {"id": "r3"}],
        "count": 3,
        "has_more": False,
        "next_cursor": None,
    }
    first, second = double.requests
    assert (first.method, first.path) == (second.method, second.path) == ("POST", "/databases/db-1/query")
    query = {"filter": config["filter"], "sorts": config["sorts"], "page_size": 2}
    assert first.body == query
    assert second.body == {**query, "start_cursor": "c2"}
    assert_notion_headers(second)


async def test_max_pages_stops_early_and_says_where_to_go_on(tmp_path: Path) -> None:
    with http_double(two_pages) as double:
        async with notion(tmp_path, double.url) as steps:
            config = {"database_id": "db-1", "max_pages": 1}
            output = await steps["notion_db_query"](step_request("notion_db_query", config))
    assert len(double.requests) == 1
    assert output == {
        "results": [{"id": "r1"}, {"id": "r2"}],
        "count": 2,
        "has_more": True,
        "next_cursor": "c2",
    }


async def test_search_sends_query_and_default_page_size_and_paginates(tmp_path: Path) -> None:
    with http_double(two_pages) as double:
        async with notion(tmp_path, double.url) as steps:
            config = {"query": "roadmap", "filter": {"property": "object", "value": "page"}}
            output = await steps["notion_search"](step_request("notion_search", config))
    assert output["count"] == 3
    assert [result["id"] for result in output["results"]] == ["r1", "r2", "r3"]
    first, second = double.requests
    assert (first.method, first.path) == ("POST", "/search")
    assert first.body == {
        "query": "roadmap",
        "page_size": 20,
        "filter": {"property": "object", "value": "page"},
    }
    assert second.body == {**first.body, "start_cursor": "c2"}
    assert_notion_headers(first)


async def test_a_validation_error_is_a_permanent_bad_request_with_notions_message(tmp_path: Path) -> None:
    error = {
        "object": "error",
        "status": 400,
        "code": "validation_error",
        # A service echoing the credential must not carry it into the step's error.
        "message": f"body.parent.database_id should be a valid uuid (token {TOKEN})",
    }
    with http_double(lambda _recorded: (400, error)) as double:
        async with notion(tmp_path, double.url) as steps:
            config = {"action": "create_page", "database_id": "nope", "title": "x"}
            with pytest.raises(StepFailure) as caught:
                await steps["notion_integration"](step_request("notion_integration", config))
    failure = caught.value
    assert failure.error_type == "bad_request"
    assert not failure.retryable
    assert "validation_error" in failure.message
    assert "body.parent.database_id should be a valid uuid" in failure.message
    assert TOKEN not in failure.message


async def test_rate_limited_is_retryable_after_the_announced_delay(tmp_path: Path) -> None:
    error = {
        "object": "error",
        "status": 429,
        "code": "rate_limited",
        "message": "You have been rate limited.",
    }
    with http_double(lambda _recorded: (429, error, {"Retry-After": "7"})) as double:
        async with notion(tmp_path, double.url) as steps:
            with pytest.raises(StepFailure) as caught:
                await steps["notion_search"](step_request("notion_search", {"query": "x"}))
    failure = caught.value
    assert failure.error_type == "rate_limit"
    assert failure.retryable
    assert failure.retry_after_seconds == 7.0
    assert "rate_limited" in failure.message


async def test_a_rejected_token_is_unauthorized_and_never_shown(tmp_path: Path) -> None:
    error = {
        "object": "error",
        "status": 401,
        "code": "unauthorized",
        "message": f"API token {TOKEN} is invalid.",
    }
    with http_double(lambda _recorded: (401, error)) as double:
        async with notion(tmp_path, double.url) as steps:
            with pytest.raises(StepFailure) as caught:
                await steps["notion_integration"](
                    step_request("notion_integration", {"action": "page_get", "page_id": "p"})
                )
    assert caught.value.error_type == "unauthorized"
    assert not caught.value.retryable
    assert TOKEN not in caught.value.message
    assert "[redacted]" in caught.value.message


async def test_without_a_connection_the_step_fails_with_missing_connection(tmp_path: Path) -> None:
    with http_double(lambda _recorded: (200, PAGE)) as double:
        async with notion(tmp_path, double.url, connect=False) as steps:
            with pytest.raises(StepFailure) as caught:
                await steps["notion_search"](step_request("notion_search", {"query": "x"}))
    assert caught.value.error_type == "missing_connection"
    assert double.requests == []


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"action": "drop_database", "database_id": "db-1"}, id="unknown-action"),
        pytest.param({"action": "create_page", "title": "no parent"}, id="create_page-without-parent"),
        pytest.param({"action": "page_update", "page_id": "p"}, id="page_update-without-changes"),
        pytest.param({"action": "db_query", "database_id": "db-1", "max_pages": 0}, id="bad-max_pages"),
        pytest.param({"action": "block_append", "block_id": "b"}, id="block_append-without-children"),
    ],
)
async def test_bad_config_is_invalid_config_and_sends_nothing(tmp_path: Path, config: dict[str, Any]) -> None:
    with http_double(lambda _recorded: (200, PAGE)) as double:
        async with notion(tmp_path, double.url) as steps:
            with pytest.raises(StepFailure) as caught:
                await steps["notion_integration"](step_request("notion_integration", config))
    assert caught.value.error_type == "invalid_config"
    assert not caught.value.retryable
    assert double.requests == []
