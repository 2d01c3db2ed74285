"""Server-sent events as providers send them: `event:`/`data:` fields, events ended by a
blank line, `:` comment lines (DeepSeek's keep-alives) ignored, CRLF or LF."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSentEvent:
    event: str  # "message" when the stream names none
    data: str


async def read_events(lines: AsyncIterator[str]) -> AsyncIterator[ServerSentEvent]:
    """Events from a response's text lines (httpx `Response.aiter_lines()`)."""
    event = ""
    data: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                yield ServerSentEvent(event or "message", "\n".join(data))
            event, data = "", []
            continue
        if line.startswith(":"):
            continue  # a comment: keep-alive
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
    if data:  # a last event without its blank line (Gemini ends so)
        yield ServerSentEvent(event or "message", "\n".join(data))
