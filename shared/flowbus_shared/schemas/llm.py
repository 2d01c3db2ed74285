"""LLM token events: streamed output of an llm step, for live viewers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from flowbus_shared.schemas.base import Message


class TokenUsage(BaseModel):
    """Tokens of one call, each kind counted separately (providers bill them differently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_tokens: int = Field(default=0, ge=0)
    cached_input_tokens: int = Field(default=0, ge=0)
    cache_write_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    reasoning_tokens: int = Field(default=0, ge=0)


class LlmTokenEvent(Message):
    """One streamed chunk; the last of a request has `finished` set and carries usage."""

    type: Literal["llm.token"] = "llm.token"
    request_id: str = Field(min_length=1, max_length=200)
    execution_id: str | None = Field(default=None, max_length=200)
    step_id: str | None = Field(default=None, max_length=200)
    index: int = Field(ge=0)
    delta: str = Field(default="", max_length=100_000)
    finished: bool = False
    finish_reason: str | None = Field(default=None, max_length=100)
    provider: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=200)
    usage: TokenUsage | None = None

    def partition_key(self) -> str:  # one request's pieces in order, on one partition
        return self.request_id
