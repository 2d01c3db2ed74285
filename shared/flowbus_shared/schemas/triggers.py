"""Trigger events: what starts workflows, published by any Kafka client."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from flowbus_shared.schemas.base import Message


class TriggerEvent(Message):
    """Starts every workflow whose `triggers` lists `event_type`, or the one named.

    `idempotency_key` makes a duplicate trigger start nothing new; when it is
    absent the message id plays that part.
    """

    type: Literal["trigger"] = "trigger"
    event_type: str = Field(min_length=1, max_length=200)
    tenant_id: str = Field(default="default", min_length=1, max_length=200)
    workflow_id: str | None = Field(default=None, max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(default=None, max_length=400)
    source: str | None = Field(default=None, max_length=200)

    def dedupe_key(self) -> str:
        return self.idempotency_key or self.message_id

    def partition_key(self) -> str:
        return self.dedupe_key()
