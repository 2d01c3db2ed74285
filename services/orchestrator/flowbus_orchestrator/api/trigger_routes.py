"""POST /v1/triggers (operator): a trigger event on `flowbus.triggers`, for the caller's
tenant; the answer names the executions it starts (their ids are deterministic)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from flowbus_orchestrator.api.deps import ApiDeps, actor
from flowbus_orchestrator.domain.definitions import IDENTIFIER
from flowbus_orchestrator.handlers import UnknownWorkflow, execution_id_for, workflows_for
from flowbus_shared.auth import Principal
from flowbus_shared.http import ApiError
from flowbus_shared.schemas import TriggerEvent
from flowbus_shared.topics import TRIGGERS


class TriggerIn(BaseModel):
    # No tenant_id: a trigger is always the caller's tenant's.
    model_config = ConfigDict(extra="forbid")

    event_type: str = Field(min_length=1, max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict)
    workflow_id: str | None = Field(default=None, pattern=IDENTIFIER, description="start only this one")
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=400, description="a repeated key starts nothing new"
    )
    source: str | None = Field(default=None, min_length=1, max_length=200)


def trigger_router(deps: ApiDeps) -> APIRouter:
    router = APIRouter(prefix="/v1/triggers", tags=["triggers"])
    operator = deps.caller("operator")

    @router.post("", status_code=202)
    async def trigger(body: TriggerIn, principal: Principal = operator) -> dict[str, Any]:
        event = TriggerEvent(
            event_type=body.event_type,
            tenant_id=principal.tenant_id,
            workflow_id=body.workflow_id,
            payload=body.payload,
            idempotency_key=body.idempotency_key,
            source=body.source or actor(principal),  # who started it, when the caller does not say
        )
        try:
            workflow_ids = await workflows_for(deps.definitions, event)
        except UnknownWorkflow:
            raise ApiError(404, f"no workflow {body.workflow_id!r}") from None
        await deps.bus.publish(TRIGGERS, event)
        return {
            "message_id": event.message_id,
            "execution_ids": [execution_id_for(event, workflow_id) for workflow_id in workflow_ids],
        }

    return router
