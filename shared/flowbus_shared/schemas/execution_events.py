"""The execution log as published on `execution-events`: one record per stored event."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from flowbus_shared.schemas.base import ExecutionMessage


class ExecutionEventRecord(ExecutionMessage):
    """A stored execution event, republished for observers (dashboards, audit, tests).

    `version` is the event's position in its execution's stream: observers can
    detect gaps and duplicates with it.
    """

    type: Literal["execution.event"] = "execution.event"
    workflow_id: str = Field(min_length=1, max_length=200)
    tenant_id: str = Field(default="default", min_length=1, max_length=200)
    version: int = Field(ge=1)
    event_type: str = Field(min_length=1, max_length=100)
    data: dict[str, Any] = Field(default_factory=dict)
