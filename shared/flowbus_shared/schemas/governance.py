"""Governance decisions: the verdict on one agent action."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from flowbus_shared.schemas.base import Message

Maturity = Literal["student", "intern", "supervised", "autonomous", "paused", "deprecated"]


class GovernanceDecision(Message):
    type: Literal["governance.decision"] = "governance.decision"
    tenant_id: str = Field(default="default", min_length=1, max_length=200)
    execution_id: str | None = Field(default=None, max_length=200)
    step_id: str | None = Field(default=None, max_length=200)
    agent_id: str = Field(min_length=1, max_length=200)
    action: str = Field(min_length=1, max_length=200)
    verdict: Literal["allow", "deny", "approval_required"]
    reason: str = Field(default="", max_length=2000)
    action_complexity: int | None = Field(default=None, ge=1, le=4)
    agent_maturity: Maturity | None = None
    policy_version: str = Field(default="", max_length=100)
    payload_hash: str | None = Field(default=None, max_length=128)

    def partition_key(self) -> str:
        return self.execution_id or self.agent_id
