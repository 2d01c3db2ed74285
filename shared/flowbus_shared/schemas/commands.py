"""Execution commands: the only way anything but the orchestrator changes an execution."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from flowbus_shared.schemas.base import ExecutionMessage

Actor = Annotated[str, Field(min_length=1, max_length=200)]


class StartExecution(ExecutionMessage):
    type: Literal["command.start"] = "command.start"
    workflow_id: str = Field(min_length=1, max_length=200)
    workflow_version: int | None = Field(default=None, ge=1)
    tenant_id: str = Field(default="default", min_length=1, max_length=200)
    input: dict[str, Any] = Field(default_factory=dict)
    trigger_id: str | None = None
    requested_by: Actor = "system"


class ResumeExecution(ExecutionMessage):
    type: Literal["command.resume"] = "command.resume"
    from_step_id: str | None = None
    requested_by: Actor = "system"


class ForkExecution(ExecutionMessage):
    """Start `execution_id` from the state `source_execution_id` had just before `step_id`."""

    type: Literal["command.fork"] = "command.fork"
    source_execution_id: str = Field(min_length=1, max_length=200)
    step_id: str = Field(min_length=1, max_length=200)
    variable_overrides: dict[str, Any] = Field(default_factory=dict)
    requested_by: Actor = "system"


class CancelExecution(ExecutionMessage):
    type: Literal["command.cancel"] = "command.cancel"
    reason: str = Field(default="", max_length=2000)
    requested_by: Actor = "system"


class ApproveStep(ExecutionMessage):
    type: Literal["command.approve"] = "command.approve"
    step_id: str = Field(min_length=1, max_length=200)
    approved_by: Actor
    comment: str = Field(default="", max_length=2000)


class RejectStep(ExecutionMessage):
    type: Literal["command.reject"] = "command.reject"
    step_id: str = Field(min_length=1, max_length=200)
    rejected_by: Actor
    reason: str = Field(default="", max_length=2000)


class TimerFired(ExecutionMessage):
    """A durable timer came due: a delay step ends, a retry back-off ends, or a step times out."""

    type: Literal["command.timer-fired"] = "command.timer-fired"
    timer_id: str = Field(min_length=1, max_length=400)
    purpose: Literal["delay", "retry", "step-timeout", "approval-expiry"]
    step_id: str = Field(min_length=1, max_length=200)
    attempt: int = Field(default=1, ge=1)


ExecutionCommand = Annotated[
    StartExecution
    | ResumeExecution
    | ForkExecution
    | CancelExecution
    | ApproveStep
    | RejectStep
    | TimerFired,
    Field(discriminator="type"),
]
