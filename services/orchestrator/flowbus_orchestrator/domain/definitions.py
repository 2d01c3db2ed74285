"""Workflow definitions: the plan's data model, validated by pydantic.

The monolith's spellings are accepted too: `parameters` for `config`, steps
as a list or as a map keyed by id. Definitions are immutable values; running
a workflow never changes its definition.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

IDENTIFIER = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$"
DEFAULT_RETRYABLE = ("timeout", "connection", "rate_limit", "temporary", "server_error")


class RetryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_retries: int = Field(default=3, ge=0, le=100)
    initial_delay_seconds: float = Field(default=1.0, ge=0)
    exponential_base: float = Field(default=2.0, ge=1)
    max_delay_seconds: float = Field(default=60.0, ge=0)
    retryable_errors: tuple[str, ...] = DEFAULT_RETRYABLE

    def delay_seconds(self, retry_number: int) -> float:
        """Back-off before retry `retry_number` (1 = the first retry)."""
        delay = self.initial_delay_seconds * self.exponential_base ** (retry_number - 1)
        return float(min(delay, self.max_delay_seconds))

    def allows(self, *, error_type: str, retryable: bool, retries_done: int) -> bool:
        """Retry when retries remain and the error is retryable or of a listed class."""
        return retries_done < self.max_retries and (retryable or error_type in self.retryable_errors)


class StepDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=IDENTIFIER)
    type: str
    name: str = ""
    description: str = ""
    config: dict[str, Any] = Field(
        default_factory=dict, validation_alias=AliasChoices("config", "parameters")
    )
    next_steps: tuple[str, ...] = ()
    condition: str | None = None
    parallel_steps: tuple[str, ...] = ()
    retry_policy: RetryPolicy | None = None
    timeout_seconds: float = Field(default=30.0, gt=0, le=7 * 24 * 3600)
    confidence_threshold: float | None = Field(default=0.7, ge=0, le=1)
    optional: bool = False
    continue_on_error: bool = False
    max_visits: int | None = Field(default=None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _monolith_spellings(cls, data: Any) -> Any:
        # The monolith kept conditional routes in a step-level `conditions` list.
        if isinstance(data, dict) and "conditions" in data:
            data = dict(data)
            config = dict(data.get("config", data.pop("parameters", {})) or {})
            config.setdefault("conditions", data.pop("conditions"))
            data["config"] = config
        return data

    @property
    def effective_retry_policy(self) -> RetryPolicy:
        return self.retry_policy or RetryPolicy()


class WorkflowDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=IDENTIFIER)
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    version: int = Field(default=1, ge=1)
    steps: dict[str, StepDefinition]
    start_step_id: str
    category: str = "automation"
    tags: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()

    @field_validator("steps", mode="before")
    @classmethod
    def _steps_as_map(cls, value: Any) -> Any:
        if isinstance(value, list):
            mapped: dict[str, Any] = {}
            for index, step in enumerate(value):
                if not isinstance(step, dict) or "id" not in step:
                    raise ValueError(f"step {index} needs an id")
                if step["id"] in mapped:
                    raise ValueError(f"step id {step['id']!r} appears twice")
                mapped[str(step["id"])] = step
            return mapped
        if isinstance(value, dict):
            mapped = {}
            for key, step in value.items():
                if isinstance(step, dict):
                    if step.get("id", key) != key:
                        raise ValueError(f"step {key!r} says its id is {step['id']!r}")
                    step = {**step, "id": key}
                mapped[key] = step
            return mapped
        return value

    def step(self, step_id: str) -> StepDefinition:
        return self.steps[step_id]
