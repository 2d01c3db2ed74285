"""Step requests (orchestrator -> a queue) and step results (any service -> orchestrator)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flowbus_shared.schemas.base import ExecutionMessage


def idempotency_key(execution_id: str, step_id: str, attempt: int) -> str:
    return f"{execution_id}:{step_id}:{attempt}"


class StepRequest(ExecutionMessage):
    """Run one attempt of one step. `config` is already resolved against the execution's state."""

    type: Literal["step.request"] = "step.request"
    workflow_id: str = Field(min_length=1, max_length=200)
    tenant_id: str = Field(default="default", min_length=1, max_length=200)
    step_id: str = Field(min_length=1, max_length=200)
    step_type: str = Field(min_length=1, max_length=100)
    attempt: int = Field(default=1, ge=1)
    config: dict[str, Any] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=30.0, gt=0)

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.execution_id, self.step_id, self.attempt)

    def partition_key(self) -> str:
        """`<execution>/<step>`: one step's attempts stay in order, while the branches of a parallel
        step (requests of one execution at once) run side by side, not one after another."""
        return f"{self.execution_id}/{self.step_id}"


class StepError(BaseModel):
    """Why a step attempt failed; `retryable` lets the orchestrator's retry policy act."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_type: str = Field(min_length=1, max_length=200)
    message: str = Field(max_length=8000)
    retryable: bool = False
    retry_after_seconds: float | None = Field(default=None, ge=0)


class StepResult(ExecutionMessage):
    type: Literal["step.result"] = "step.result"
    step_id: str = Field(min_length=1, max_length=200)
    attempt: int = Field(default=1, ge=1)
    status: Literal["succeeded", "failed"]
    output: dict[str, Any] = Field(default_factory=dict)
    error: StepError | None = None
    confidence: float | None = Field(default=None, ge=0, le=1)
    duration_ms: float = Field(default=0.0, ge=0)
    executed_by: str = Field(default="unknown", max_length=200)

    @model_validator(mode="after")
    def _error_matches_status(self) -> StepResult:
        if self.status == "failed" and self.error is None:
            raise ValueError("a failed step result needs an error")
        if self.status == "succeeded" and self.error is not None:
            raise ValueError("a succeeded step result carries no error")
        return self

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.execution_id, self.step_id, self.attempt)
