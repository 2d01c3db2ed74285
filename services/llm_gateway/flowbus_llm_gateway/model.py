"""The gateway's one request/response/usage model; every provider adapter maps to and from it.

Usage counts each token class separately, because providers bill them
differently: input (uncached), cached input (reads), cache writes, output,
and reasoning (thinking) tokens, which are billed as output but reported apart.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    arguments: str = ""  # JSON text, as providers send it
    # Gemini's thoughtSignature: opaque, and required back with the call in the next turn.
    signature: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None  # on role "tool": the call it answers
    name: str | None = None


class Tool(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ChatRequest(BaseModel):
    """What a caller asks for, whatever the provider."""

    model_config = ConfigDict(extra="forbid")

    model: str  # the provider's model name
    messages: list[ChatMessage]
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    tools: list[Tool] = Field(default_factory=list)
    json_schema: dict[str, Any] | None = None  # ask for structured output
    stream: bool = False


class Usage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_tokens: int = 0  # not counting cached reads
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0  # including reasoning tokens
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.cached_input_tokens + self.cache_write_tokens + self.output_tokens


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error"]


class ChatResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    provider: str
    model: str
    content: str = ""
    reasoning: str = ""  # thinking / reasoning text when the provider returns it
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: FinishReason = "stop"
    usage: Usage = Field(default_factory=Usage)


class StreamDelta(BaseModel):
    """One piece of a streamed answer. The last one a provider yields has `done` set and
    carries the final usage and finish reason; a stream that ends without it is broken."""

    model_config = ConfigDict(extra="forbid")

    content: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)  # complete calls, assembled from fragments
    done: bool = False
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    response_id: str | None = None
