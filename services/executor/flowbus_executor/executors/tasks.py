"""Tasks: `asana_integration` creates an Asana task; `task_creation` creates a task in Asana
when the tenant has an Asana connection, else in the built-in `tasks` table.

asana_integration config: `name` (or `title`), `notes` (or `description`), `assignee`
(`me`, an email or a user gid), `due_on` (or `due_date`; a date, or a datetime sent as
`due_at`), `project` (a gid, or a name looked up in the workspace), `workspace` (a gid;
else the connection's `workspace`), `connection` (default `asana`; secret `token` or
`access_token`). output: {task_id, permalink_url, name}.

task_creation config: `title` (required), `notes` (or `description`), `assignee`,
`due_date`, and for Asana `project`/`workspace`/`connection`.
output: {task_id, system: "asana" | "builtin", title, due_date}.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from flowbus_executor.deps import ExecutorDeps, connection_for, require, secret
from flowbus_executor.http import failure_for, json_body, send
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler
from flowbus_shared.vault import Connection, VaultError

SERVICE = "asana"
# Asana's largest page; a project lookup stops after this many pages rather than loop forever.
PAGE_SIZE = 100
MAX_PAGES = 50

# Mirrors migration 0004; the executor owns this table.
tasks = sa.Table(
    "tasks",
    sa.MetaData(),
    sa.Column("task_id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("notes", sa.Text, nullable=False),
    sa.Column("assignee", sa.String(200)),
    sa.Column("due_date", sa.String(40)),
    sa.Column("status", sa.String(40), nullable=False),
    sa.Column("idempotency_key", sa.String(600), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


def _text(config: dict[str, Any], *names: str) -> str | None:
    """The first of `names` set in config, as text."""
    for name in names:
        value = config.get(name)
        if value not in (None, ""):
            return str(value)
    return None


def _describe_asana(body: Any) -> str | None:
    """Asana's error body: {"errors": [{"message": ...}]}."""
    messages = [str(error["message"]) for error in body.get("errors") or [] if error.get("message")]
    return "; ".join(messages) or None


class Asana:
    """One tenant's Asana connection: authorised calls whose errors carry Asana's own message."""

    def __init__(self, deps: ExecutorDeps, request: StepRequest, connection: Connection) -> None:
        self._deps = deps
        self._request = request
        self.connection = connection
        self._token = secret(connection, "token", "access_token")
        self._secrets = connection.secret_values()

    async def call(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        response = await send(
            self._deps.http,
            method,
            f"{self._deps.settings.asana_api_url.rstrip('/')}{path}",
            request=self._request,
            service=SERVICE,
            secrets=self._secrets,
            # Asana has no idempotency key for task creation; the step worker's attempt log
            # keeps a redelivered attempt from posting twice.
            idempotency_header=None,
            raise_for_status=False,
            headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
            **options,
        )
        if response.status_code >= 400:
            raise self._failure(response)
        answer = json_body(response, service=SERVICE)
        if not isinstance(answer, dict):
            raise StepFailure("bad_response", "asana answered without a JSON object")
        return answer

    def _failure(self, response: httpx.Response) -> StepFailure:
        return failure_for(response, service=SERVICE, secrets=self._secrets, describe=_describe_asana)

    def workspace(self, config: dict[str, Any]) -> str | None:
        return _text(config, "workspace") or _text(self.connection.secrets, "workspace", "workspace_gid")

    async def project_gid(self, project: str, workspace: str | None) -> str:
        """`project` itself when it is a gid, else the gid of the workspace's project of that name."""
        if project.isdigit():
            return project
        if not workspace:
            raise StepFailure(
                "invalid_config", f"project {project!r} is a name: a workspace gid is needed to look it up"
            )
        matches: list[str] = []
        params: dict[str, Any] = {"workspace": workspace, "limit": PAGE_SIZE, "opt_fields": "name"}
        for _ in range(MAX_PAGES):
            page = await self.call("GET", "/projects", params=params)
            for item in page.get("data") or []:
                if isinstance(item, dict) and item.get("name") == project and item.get("gid"):
                    matches.append(str(item["gid"]))
            offset = (page.get("next_page") or {}).get("offset")
            if not offset:
                break
            params = {**params, "offset": offset}
        if not matches:
            raise StepFailure("not_found", f"asana has no project named {project!r} in workspace {workspace}")
        if len(matches) > 1:
            # Guessing would file the task in the wrong project.
            raise StepFailure("invalid_config", f"several asana projects are named {project!r}: use a gid")
        return matches[0]

    async def create_task(self, config: dict[str, Any], name: str) -> dict[str, Any]:
        data: dict[str, Any] = {"name": name}
        notes = _text(config, "notes", "description")
        if notes is not None:
            data["notes"] = notes
        assignee = _text(config, "assignee")
        if assignee is not None:
            data["assignee"] = assignee
        due = _text(config, "due_on", "due_date")
        if due is not None:
            # Asana takes a calendar date as due_on and a moment as due_at.
            data["due_at" if "T" in due else "due_on"] = due
        workspace = self.workspace(config)
        project = _text(config, "project")
        if project is not None:
            data["projects"] = [await self.project_gid(project, workspace)]
        elif workspace:
            data["workspace"] = workspace  # a task needs a project or a workspace
        answer = await self.call(
            "POST", "/tasks", json={"data": data}, params={"opt_fields": "name,permalink_url,due_on,due_at"}
        )
        task = answer.get("data")
        if not isinstance(task, dict) or not task.get("gid"):
            raise StepFailure("bad_response", "asana answered without the created task's gid")
        return task


async def asana_for(deps: ExecutorDeps, request: StepRequest) -> Asana:
    return Asana(deps, request, await connection_for(deps, request, SERVICE))


async def create_asana_task(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    name = _text(request.config, "name", "title")
    if name is None:
        raise StepFailure("invalid_config", "missing name")
    asana = await asana_for(deps, request)
    task = await asana.create_task(request.config, name)
    return {"task_id": str(task["gid"]), "permalink_url": task.get("permalink_url"), "name": task.get("name")}


async def tenant_asana(deps: ExecutorDeps, request: StepRequest) -> Asana | None:
    """The Asana connection task_creation uses: the one `config.connection` names, else the
    tenant's `asana` connection, else any Asana connection of the tenant; None without one."""
    if request.config.get("connection"):
        return await asana_for(deps, request)
    names = [row["name"] for row in await deps.vault.list(request.tenant_id) if row["service"] == SERVICE]
    if not names:
        return None
    name = SERVICE if SERVICE in names else names[0]
    try:
        connection = await deps.vault.get(request.tenant_id, name)
    except VaultError as error:
        # A connection that exists but does not open is a fault to report, not a reason to
        # quietly file the task elsewhere.
        raise StepFailure("missing_connection", str(error)) from None
    return Asana(deps, request, connection)


def _checked(value: str | None, name: str, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        raise StepFailure("invalid_config", f"{name} is longer than {limit} characters")
    return value


async def create_builtin_task(
    deps: ExecutorDeps, request: StepRequest, title: str, config: dict[str, Any]
) -> dict[str, Any]:
    """Insert the task once per attempt: the unique idempotency key turns a redelivered
    request's insert into a lookup of the row the first delivery wrote."""
    row = {
        "task_id": f"task_{uuid.uuid4().hex}",
        "tenant_id": request.tenant_id,
        "title": _checked(title, "title", 500),
        "notes": _text(config, "notes", "description") or "",
        "assignee": _checked(_text(config, "assignee"), "assignee", 200),
        "due_date": _checked(_text(config, "due_date", "due_on"), "due_date", 40),
        "status": "open",
        "idempotency_key": request.idempotency_key,
        "created_at": datetime.now(UTC),
    }
    try:
        async with deps.engine.begin() as conn:
            await conn.execute(tasks.insert().values(**row))
    except IntegrityError:
        pass  # written by an earlier delivery of this attempt; read it back below
    async with deps.engine.connect() as conn:
        stored = (
            await conn.execute(
                sa.select(tasks).where(
                    tasks.c.idempotency_key == request.idempotency_key,
                    tasks.c.tenant_id == request.tenant_id,
                )
            )
        ).first()
    if stored is None:
        raise StepFailure("conflict", f"task for {request.idempotency_key} exists for another tenant")
    return {
        "task_id": stored.task_id,
        "system": "builtin",
        "title": stored.title,
        "due_date": stored.due_date,
    }


async def create_task(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    (title,) = require(config, "title")
    title = str(title)
    asana = await tenant_asana(deps, request)
    if asana is None:
        return await create_builtin_task(deps, request, title, config)
    task = await asana.create_task(config, title)
    return {
        "task_id": str(task["gid"]),
        "system": "asana",
        "title": task.get("name") or title,
        "due_date": task.get("due_on") or task.get("due_at") or _text(config, "due_date", "due_on"),
        "permalink_url": task.get("permalink_url"),
    }


def handlers(deps: ExecutorDeps) -> dict[str, StepHandler]:
    async def asana_integration(request: StepRequest) -> dict[str, Any]:
        return await create_asana_task(deps, request)

    async def task_creation(request: StepRequest) -> dict[str, Any]:
        return await create_task(deps, request)

    return {"asana_integration": asana_integration, "task_creation": task_creation}
