"""Executions: start (optionally waiting for the outcome), list, read, events, lineage, stats.

Reads are the caller's tenant's only: another tenant's execution is a 404, like an unknown one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from flowbus_orchestrator.adapters.event_log import events_page, execution_tenant
from flowbus_orchestrator.adapters.execution_queries import (
    ExecutionFilter,
    PageKey,
    as_utc,
    execution_page,
    execution_stats,
    lineage,
)
from flowbus_orchestrator.api.cursors import MAX_CURSOR, decode_cursor, encode_cursor
from flowbus_orchestrator.api.deps import EXECUTION_ID, ApiDeps, actor
from flowbus_orchestrator.api.views import execution_summary, execution_view, iso
from flowbus_orchestrator.api.waiting import wait_settled
from flowbus_orchestrator.domain.definitions import IDENTIFIER
from flowbus_shared.auth import Principal
from flowbus_shared.http import ApiError
from flowbus_shared.schemas import StartExecution, new_id
from flowbus_shared.topics import COMMANDS

# Idempotency keys name executions per tenant: the same key gives the same execution id.
_IDEMPOTENT_NAMESPACE = uuid.UUID("0b8f6d52-7c1e-4a9b-8d3f-5e2a61c4f907")
MAX_WAIT_SECONDS = 300.0


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workflow_id: str = Field(pattern=IDENTIFIER)
    input: dict[str, Any] = Field(default_factory=dict)
    version: int | None = Field(default=None, ge=1, description="a version; the latest when absent")
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=400, description="the same key starts nothing new"
    )


def accepted(execution_id: str) -> dict[str, Any]:
    return {
        "execution_id": execution_id,
        "status": "accepted",
        "links": {"self": f"/v1/executions/{execution_id}"},
    }


def idempotent_execution_id(tenant_id: str, key: str) -> str:
    return uuid.uuid5(_IDEMPOTENT_NAMESPACE, f"{tenant_id}\x00{key}").hex


async def execution_body(deps: ApiDeps, execution_id: str, tenant_id: str) -> dict[str, Any]:
    """The whole execution, folded from its log; 404 unless it is the tenant's."""
    folded = execution_view(await deps.engine.store.read(execution_id))
    if folded is None or folded[0].tenant_id != tenant_id:
        raise ApiError(404, f"no execution {execution_id!r}")
    return folded[1]


async def answer_after_wait(
    deps: ApiDeps, response: Response, execution_id: str, tenant_id: str, wait: float
) -> dict[str, Any]:
    """200 with the execution once it settles within `wait` seconds; else 202 accepted."""
    if wait > 0 and await wait_settled(deps.projection, execution_id, tenant_id, wait):
        response.status_code = 200
        return await execution_body(deps, execution_id, tenant_id)
    return accepted(execution_id)


def execution_router(deps: ApiDeps) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["executions"])
    viewer, operator = deps.caller("viewer"), deps.caller("operator")

    @router.post("/executions", status_code=202)
    async def start(
        body: StartIn,
        response: Response,
        wait: float = Query(
            default=0, ge=0, le=MAX_WAIT_SECONDS, description="seconds to wait for the outcome"
        ),
        principal: Principal = operator,
    ) -> dict[str, Any]:
        tenant = principal.tenant_id
        if await deps.definitions.find(body.workflow_id, body.version, tenant_id=tenant) is None:
            which = f" version {body.version}" if body.version is not None else ""
            raise ApiError(404, f"no workflow {body.workflow_id!r}{which}")
        if body.idempotency_key is None:
            execution_id, existing = new_id(), None
        else:
            execution_id = idempotent_execution_id(tenant, body.idempotency_key)
            existing = await deps.projection.get(execution_id, tenant_id=tenant)
            if existing is not None and existing["workflow_id"] != body.workflow_id:
                raise ApiError(
                    409,
                    f"idempotency key already started workflow {existing['workflow_id']!r}",
                    code="idempotency_conflict",
                )
        if existing is None:
            # A repeat of an accepted start has the same message id: the orchestrator ignores it.
            await deps.bus.publish(
                COMMANDS,
                StartExecution(
                    message_id=f"start:{execution_id}",
                    execution_id=execution_id,
                    workflow_id=body.workflow_id,
                    workflow_version=body.version,
                    tenant_id=tenant,
                    input=body.input,
                    requested_by=actor(principal),
                ),
            )
        return await answer_after_wait(deps, response, execution_id, tenant, wait)

    @router.get("/executions")
    async def list_executions(
        workflow_id: str | None = Query(default=None, pattern=IDENTIFIER),
        status: str | None = Query(default=None, max_length=40),
        since: Annotated[datetime | None, Query(description="started at or after (ISO 8601)")] = None,
        until: Annotated[datetime | None, Query(description="started before (ISO 8601)")] = None,
        parent: str | None = Query(default=None, pattern=EXECUTION_ID),
        limit: int = Query(default=50, ge=1, le=500),
        cursor: str | None = Query(default=None, max_length=MAX_CURSOR),
        principal: Principal = viewer,
    ) -> dict[str, Any]:
        after = None
        if cursor:
            started_at, execution_id = decode_cursor("executions", cursor, 2)
            try:
                after = PageKey(datetime.fromisoformat(started_at), execution_id)
            except ValueError:
                raise ApiError(
                    422, "cursor: not a cursor this list gave out", code="invalid_cursor"
                ) from None
        filters = ExecutionFilter(workflow_id, status, since, until, parent)
        rows, next_key = await execution_page(
            deps.database, principal.tenant_id, filters, after=after, limit=limit
        )
        next_cursor = (
            encode_cursor("executions", [next_key.started_at.isoformat(), next_key.execution_id])
            if next_key is not None
            else None
        )
        return {"executions": [execution_summary(row) for row in rows], "next_cursor": next_cursor}

    @router.get("/executions/{execution_id}")
    async def get_execution(
        execution_id: str = Path(pattern=EXECUTION_ID), principal: Principal = viewer
    ) -> dict[str, Any]:
        return await execution_body(deps, execution_id, principal.tenant_id)

    @router.get("/executions/{execution_id}/events")
    async def get_events(
        execution_id: str = Path(pattern=EXECUTION_ID),
        after: int = Query(default=0, ge=0, description="the version after which to start"),
        limit: int = Query(default=50, ge=1, le=500),
        principal: Principal = viewer,
    ) -> dict[str, Any]:
        if await execution_tenant(deps.database, execution_id) != principal.tenant_id:
            raise ApiError(404, f"no execution {execution_id!r}")
        page, next_after = await events_page(deps.database, execution_id, after=after, limit=limit)
        return {
            "events": [
                {
                    "version": event.version,
                    "event_type": event.event_type,
                    "data": event.data,
                    "recorded_at": iso(event.recorded_at),
                }
                for event in page
            ],
            "next_after": next_after,
        }

    @router.get("/executions/{execution_id}/lineage")
    async def get_lineage(
        execution_id: str = Path(pattern=EXECUTION_ID), principal: Principal = viewer
    ) -> dict[str, Any]:
        found = await lineage(deps.projection, principal.tenant_id, execution_id)
        if found is None:
            raise ApiError(404, f"no execution {execution_id!r}")
        return {
            "execution_id": execution_id,
            "execution": execution_summary(found["execution"]),
            "ancestors": [execution_summary(row) for row in found["ancestors"]],
            "children": [execution_summary(row) for row in found["children"]],
        }

    @router.get("/stats")
    async def stats(
        workflow_id: str | None = Query(default=None, pattern=IDENTIFIER),
        since: Annotated[
            datetime | None, Query(description="executions started at or after (ISO 8601)")
        ] = None,
        principal: Principal = viewer,
    ) -> dict[str, Any]:
        return await execution_stats(
            deps.database, principal.tenant_id, workflow_id=workflow_id, since=as_utc(since)
        )

    return router
