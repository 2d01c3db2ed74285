"""asana_integration and task_creation: Asana through a loopback double speaking its REST
wire format (`{"data": ...}` envelopes, `next_page.offset` pagination, `{"errors": [...]}`
failures), and the built-in `tasks` table on every database backend."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors import tasks
from flowbus_shared.step_worker import StepFailure
from tests.support.executor_deps import TENANT, executor_deps, step_request
from tests.support.http_double import Recorded, http_double

TOKEN = "2/1200000000000001/1209999999999999:asana-secret-pat"
WORKSPACE = "1100000000000001"
PROJECTS = [  # two pages of the workspace's projects; the one looked up is on the second
    [{"gid": "1200000000000010", "name": "Marketing", "resource_type": "project"}],
    [{"gid": "1200000000000020", "name": "Finance Ops", "resource_type": "project"}],
]


def query(recorded: Recorded) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(recorded.path).query).items()}


def asana(recorded: Recorded) -> tuple[int, Any]:
    """The slice of the Asana API the executor uses."""
    path = urlsplit(recorded.path).path
    if recorded.method == "GET" and path == "/projects":
        page = 1 if query(recorded).get("offset") == "page-2" else 0
        next_page = None if page else {"offset": "page-2", "path": "/projects?offset=page-2", "uri": "..."}
        return 200, {"data": PROJECTS[page], "next_page": next_page}
    if recorded.method == "POST" and path == "/tasks":
        data = recorded.body["data"]
        return 201, {
            "data": {
                "gid": "1209000000000001",
                "resource_type": "task",
                "name": data["name"],
                "due_on": data.get("due_on"),
                "due_at": data.get("due_at"),
                "permalink_url": "https://app.asana.com/0/0/1209000000000001",
            }
        }
    return 404, {"errors": [{"message": f"No route {path}"}]}


@asynccontextmanager
async def asana_deps(
    database: Path | str, url: str, secrets: dict[str, str] | None = None
) -> AsyncIterator[ExecutorDeps]:
    async with executor_deps(database, asana_api_url=url) as deps:
        if secrets is not None:
            await deps.vault.put(TENANT, "asana", "asana", secrets)
        yield deps


async def run(deps: ExecutorDeps, step_type: str, config: dict[str, Any], **request: Any) -> dict[str, Any]:
    return await tasks.handlers(deps)[step_type](step_request(step_type, config, **request))


async def fail(deps: ExecutorDeps, step_type: str, config: dict[str, Any]) -> StepFailure:
    with pytest.raises(StepFailure) as caught:
        await run(deps, step_type, config)
    return caught.value


async def test_asana_task_is_created_in_the_project(tmp_path: Path) -> None:
    config = {
        "name": "Chase INV-7",
        "notes": "Customer is 30 days late",
        "project": "1200000000000020",
        "assignee": "ana@acme.example",
        "due_date": "2026-12-01",
    }
    with http_double(asana) as double:
        async with asana_deps(tmp_path / "x.db", double.url, {"token": TOKEN}) as deps:
            output = await run(deps, "asana_integration", config)
    assert output == {
        "task_id": "1209000000000001",
        "permalink_url": "https://app.asana.com/0/0/1209000000000001",
        "name": "Chase INV-7",
    }
    [call] = double.requests
    assert (call.method, urlsplit(call.path).path) == ("POST", "/tasks")
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Idempotency-Key" not in call.headers
    assert call.body == {
        "data": {
            "name": "Chase INV-7",
            "notes": "Customer is 30 days late",
            "projects": ["1200000000000020"],
            "assignee": "ana@acme.example",
            "due_on": "2026-12-01",
        }
    }


async def test_asana_project_name_is_resolved_through_every_page(tmp_path: Path) -> None:
    secrets = {"access_token": TOKEN, "workspace": WORKSPACE}
    with http_double(asana) as double:
        async with asana_deps(tmp_path / "x.db", double.url, secrets) as deps:
            await run(deps, "asana_integration", {"name": "Close books", "project": "Finance Ops"})
    first, second, create = double.requests
    assert [urlsplit(call.path).path for call in (first, second)] == ["/projects", "/projects"]
    assert query(first)["workspace"] == WORKSPACE
    assert "offset" not in query(first)
    assert query(second)["offset"] == "page-2"
    assert create.body["data"]["projects"] == ["1200000000000020"]


async def test_asana_unknown_project_name_fails_permanently(tmp_path: Path) -> None:
    with http_double(asana) as double:
        async with asana_deps(tmp_path / "x.db", double.url, {"token": TOKEN}) as deps:
            failure = await fail(
                deps, "asana_integration", {"name": "x", "project": "Nope", "workspace": WORKSPACE}
            )
            no_workspace = await fail(deps, "asana_integration", {"name": "x", "project": "Nope"})
    assert (failure.error_type, failure.retryable) == ("not_found", False)
    assert (no_workspace.error_type, no_workspace.retryable) == ("invalid_config", False)
    assert all(urlsplit(call.path).path == "/projects" for call in double.requests)


async def test_asana_error_message_is_surfaced_and_permanent(tmp_path: Path) -> None:
    def refuse(_recorded: Recorded) -> tuple[int, Any]:
        errors = [{"message": "assignee: Not a recognized ID: nobody", "help": "For more information..."}]
        return 400, {"errors": errors}

    with http_double(refuse) as double:
        async with asana_deps(tmp_path / "x.db", double.url, {"token": TOKEN}) as deps:
            failure = await fail(
                deps, "asana_integration", {"name": "x", "assignee": "nobody", "workspace": WORKSPACE}
            )
    assert (failure.error_type, failure.retryable) == ("bad_request", False)
    assert failure.message == "asana answered 400: assignee: Not a recognized ID: nobody"
    assert double.requests[0].body["data"]["workspace"] == WORKSPACE  # no project: the workspace


async def test_asana_server_errors_are_retryable(tmp_path: Path) -> None:
    def broken(_recorded: Recorded) -> tuple[int, Any, dict[str, str]]:
        return 503, {"errors": [{"message": "Server Error"}]}, {"Retry-After": "3"}

    with http_double(broken) as double:
        async with asana_deps(tmp_path / "x.db", double.url, {"token": TOKEN}) as deps:
            failure = await fail(deps, "asana_integration", {"name": "x", "project": "1"})
    assert (failure.error_type, failure.retryable) == ("server_error", True)
    assert failure.retry_after_seconds == 3
    assert "Server Error" in failure.message


async def test_asana_without_a_connection_is_missing_connection(tmp_path: Path) -> None:
    with http_double(asana) as double:
        async with asana_deps(tmp_path / "x.db", double.url) as deps:
            failure = await fail(deps, "asana_integration", {"name": "x", "project": "1"})
    assert (failure.error_type, failure.retryable) == ("missing_connection", False)
    assert double.requests == []


async def stored_tasks(deps: ExecutorDeps) -> list[Any]:
    async with deps.engine.connect() as conn:
        return list((await conn.execute(sa.select(tasks.tasks))).all())


async def test_task_creation_without_asana_writes_the_builtin_table_once(database_url: str) -> None:
    config = {
        "title": "Call back ACME",
        "description": "about INV-7",
        "assignee": "ana",
        "due_date": "2026-12-01",
    }
    # A fresh execution id: the PostgreSQL database is shared by the session's tests.
    execution = f"exec-{uuid.uuid4().hex}"
    async with executor_deps(database_url) as deps:
        request = step_request("task_creation", config).model_copy(update={"execution_id": execution})
        handler = tasks.handlers(deps)["task_creation"]
        first = await handler(request)
        again = await handler(request)  # a redelivery of the same attempt
        rows = [row for row in await stored_tasks(deps) if row.idempotency_key == request.idempotency_key]
    assert first == {
        "task_id": first["task_id"],
        "system": "builtin",
        "title": "Call back ACME",
        "due_date": "2026-12-01",
    }
    assert again == first
    [row] = rows
    assert (row.task_id, row.tenant_id, row.title, row.notes) == (
        first["task_id"],
        TENANT,
        "Call back ACME",
        "about INV-7",
    )
    assert (row.assignee, row.due_date, row.status) == ("ana", "2026-12-01", "open")


async def test_task_creation_uses_asana_when_the_tenant_has_it(tmp_path: Path) -> None:
    config = {"title": "Call back ACME", "notes": "about INV-7", "due_date": "2026-12-01", "project": "1"}
    with http_double(asana) as double:
        async with asana_deps(tmp_path / "x.db", double.url, {"token": TOKEN}) as deps:
            output = await run(deps, "task_creation", config)
            rows = await stored_tasks(deps)
    assert output == {
        "task_id": "1209000000000001",
        "system": "asana",
        "title": "Call back ACME",
        "due_date": "2026-12-01",
        "permalink_url": "https://app.asana.com/0/0/1209000000000001",
    }
    assert double.requests[0].body["data"] == {
        "name": "Call back ACME",
        "notes": "about INV-7",
        "due_on": "2026-12-01",
        "projects": ["1"],
    }
    assert rows == []


async def test_task_creation_finds_an_asana_connection_of_another_name(tmp_path: Path) -> None:
    with http_double(asana) as double:
        async with asana_deps(tmp_path / "x.db", double.url) as deps:
            await deps.vault.put(TENANT, "asana-work", "asana", {"token": TOKEN, "workspace": WORKSPACE})
            output = await run(deps, "task_creation", {"title": "x"})
    assert output["system"] == "asana"
    assert double.requests[0].body["data"] == {"name": "x", "workspace": WORKSPACE}


async def test_task_creation_with_a_named_connection_requires_it(tmp_path: Path) -> None:
    with http_double(asana) as double:
        async with asana_deps(tmp_path / "x.db", double.url) as deps:
            failure = await fail(deps, "task_creation", {"title": "x", "connection": "asana-work"})
            rows = await stored_tasks(deps)
    assert (failure.error_type, failure.retryable) == ("missing_connection", False)
    assert rows == []


async def test_task_creation_needs_a_title(tmp_path: Path) -> None:
    async with executor_deps(tmp_path / "x.db") as deps:
        failure = await fail(deps, "task_creation", {"notes": "no title"})
        too_long = await fail(deps, "task_creation", {"title": "x" * 501})
    assert (failure.error_type, failure.retryable) == ("invalid_config", False)
    assert (too_long.error_type, too_long.retryable) == ("invalid_config", False)
