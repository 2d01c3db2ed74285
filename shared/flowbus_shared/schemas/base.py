"""The envelope every flowbus message shares."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


def new_id() -> str:
    return uuid.uuid4().hex


def utc_now() -> datetime:
    return datetime.now(UTC)


class Message(BaseModel):
    """Base of every wire message.

    `type` names the message on the wire (a discriminator), `schema_version`
    its layout. Unknown fields are refused so nothing is half-parsed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Highest layout of this message that this code reads and writes.
    SCHEMA_VERSION: ClassVar[int] = 1

    schema_version: int = 1
    message_id: str = Field(default_factory=new_id, min_length=1, max_length=200)
    occurred_at: datetime = Field(default_factory=utc_now)

    def partition_key(self) -> str:
        """The Kafka key: messages of one execution share a partition."""
        execution_id: Any = getattr(self, "execution_id", None)
        return str(execution_id) if execution_id else self.message_id


class ExecutionMessage(Message):
    """A message about one execution."""

    execution_id: str = Field(min_length=1, max_length=200)
