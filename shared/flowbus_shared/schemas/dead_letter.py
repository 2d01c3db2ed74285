"""Dead-letter records: a message a consumer could not handle, kept with the reason."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from flowbus_shared.schemas.base import Message


class DeadLetterRecord(Message):
    """The original bytes are kept (base64) so an operator can fix and republish them."""

    type: Literal["dead-letter"] = "dead-letter"
    source_topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    key: str | None = None
    consumer_group: str
    reason: str = Field(max_length=8000)
    error_type: Literal["undecodable", "rejected", "handler-failed"]
    delivery_attempts: int = Field(ge=1)
    payload_base64: str
    payload_preview: str = Field(default="", max_length=2000)
    headers: dict[str, str] = Field(default_factory=dict)

    def partition_key(self) -> str:
        return self.key or self.message_id
