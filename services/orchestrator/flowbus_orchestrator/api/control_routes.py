"""Changing an execution: resume, fork, cancel, approve and reject (operator).

Each is a command on `flowbus.commands`, keyed by the execution, as any producer sends it.
The route checks first what the orchestrator would refuse (a step that is not waiting, an
execution that has finished), so the caller hears it as 409 instead of a 202 that does nothing;
the orchestrator checks again when it applies the command.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from flowbus_orchestrator.api.deps import EXECUTION_ID, STEP_ID, ApiDeps, actor
from flowbus_orchestrator.api.execution_routes import MAX_WAIT_SECONDS, answer_after_wait
from flowbus_orchestrator.domain.state import ExecutionState
from flowbus_shared.auth import Principal
from flowbus_shared.http import ApiError
from flowbus_shared.schemas import (
    ApproveStep,
    CancelExecution,
    ForkExecution,
    RejectStep,
    ResumeExecution,
    new_id,
)
from flowbus_shared.topics import COMMANDS

RESUMABLE = frozenset({"failed", "cancelled", "waiting_approval"})


class ResumeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_step_id: str | None = Field(default=None, pattern=STEP_ID, description="the failed step when absent")


class ForkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step_id: str = Field(pattern=STEP_ID, description="start the copy just before this step")
    variable_overrides: dict[str, Any] = Field(default_factory=dict)


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2000)


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=2000)


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2000)


def control_router(deps: ApiDeps) -> APIRouter:
    router = APIRouter(prefix="/v1/executions/{execution_id}", tags=["executions"])
    operator = deps.caller("operator")

    async def owned(execution_id: str, principal: Principal) -> ExecutionState:
        state = await deps.engine.current(execution_id)
        if not state.execution_id or state.tenant_id != principal.tenant_id:
            raise ApiError(404, f"no execution {execution_id!r}")
        return state

    def known_step(state: ExecutionState, step_id: str) -> None:
        if step_id not in state.definition.get("steps", {}):
            raise ApiError(404, f"workflow {state.workflow_id!r} has no step {step_id!r}")

    @router.post("/resume", status_code=202)
    async def resume(
        body: ResumeIn, execution_id: str = Path(pattern=EXECUTION_ID), principal: Principal = operator
    ) -> dict[str, Any]:
        state = await owned(execution_id, principal)
        if body.from_step_id is not None:
            known_step(state, body.from_step_id)
        if state.status not in RESUMABLE:
            raise ApiError(
                409, f"only failed, cancelled or waiting executions resume; this one is {state.status}"
            )
        if state.status == "waiting_approval" and body.from_step_id is None:
            raise ApiError(409, "approve or reject the waiting step, or name a step to resume from")
        await deps.bus.publish(
            COMMANDS,
            ResumeExecution(
                execution_id=execution_id, from_step_id=body.from_step_id, requested_by=actor(principal)
            ),
        )
        return {"execution_id": execution_id, "status": "accepted"}

    @router.post("/fork", status_code=202)
    async def fork(
        body: ForkIn,
        response: Response,
        execution_id: str = Path(pattern=EXECUTION_ID),
        wait: float = Query(
            default=0, ge=0, le=MAX_WAIT_SECONDS, description="seconds to wait for the outcome"
        ),
        principal: Principal = operator,
    ) -> dict[str, Any]:
        state = await owned(execution_id, principal)
        known_step(state, body.step_id)
        # The fork point is where the source scheduled the step (as the orchestrator looks for it).
        events = await deps.engine.store.read(execution_id)
        if not any(
            e.event_type == "step.scheduled" and e.data.get("step_id") == body.step_id for e in events
        ):
            raise ApiError(409, f"execution {execution_id} never reached step {body.step_id!r}")
        fork_id = new_id()
        await deps.bus.publish(
            COMMANDS,
            ForkExecution(
                message_id=f"fork:{fork_id}",
                execution_id=fork_id,
                source_execution_id=execution_id,
                step_id=body.step_id,
                variable_overrides=body.variable_overrides,
                requested_by=actor(principal),
            ),
        )
        return await answer_after_wait(deps, response, fork_id, principal.tenant_id, wait)

    @router.post("/cancel", status_code=202)
    async def cancel(
        body: CancelIn, execution_id: str = Path(pattern=EXECUTION_ID), principal: Principal = operator
    ) -> dict[str, Any]:
        state = await owned(execution_id, principal)
        if state.terminal:
            raise ApiError(409, f"the execution is {state.status} already")
        await deps.bus.publish(
            COMMANDS,
            CancelExecution(execution_id=execution_id, reason=body.reason, requested_by=actor(principal)),
        )
        return {"execution_id": execution_id, "status": "accepted"}

    async def waiting_step(execution_id: str, step_id: str, principal: Principal) -> None:
        state = await owned(execution_id, principal)
        known_step(state, step_id)
        active = state.active.get(step_id)
        if state.terminal or active is None or active.waiting != "approval":
            status = state.steps[step_id].status if step_id in state.steps else "not started"
            raise ApiError(
                409, f"step {step_id!r} is not waiting for an approval (it is {status})", code="not_waiting"
            )

    @router.post("/steps/{step_id}/approve", status_code=202)
    async def approve(
        body: ApproveIn,
        execution_id: str = Path(pattern=EXECUTION_ID),
        step_id: str = Path(pattern=STEP_ID),
        principal: Principal = operator,
    ) -> dict[str, Any]:
        await waiting_step(execution_id, step_id, principal)
        await deps.bus.publish(
            COMMANDS,
            ApproveStep(
                execution_id=execution_id, step_id=step_id, approved_by=actor(principal), comment=body.comment
            ),
        )
        return {"execution_id": execution_id, "step_id": step_id, "status": "accepted"}

    @router.post("/steps/{step_id}/reject", status_code=202)
    async def reject(
        body: RejectIn,
        execution_id: str = Path(pattern=EXECUTION_ID),
        step_id: str = Path(pattern=STEP_ID),
        principal: Principal = operator,
    ) -> dict[str, Any]:
        await waiting_step(execution_id, step_id, principal)
        await deps.bus.publish(
            COMMANDS,
            RejectStep(
                execution_id=execution_id, step_id=step_id, rejected_by=actor(principal), reason=body.reason
            ),
        )
        return {"execution_id": execution_id, "step_id": step_id, "status": "accepted"}

    return router
