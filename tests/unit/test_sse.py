"""The SSE reader: fields, multi-line data, comments (keep-alives), CRLF, a last event without
its blank line."""

from __future__ import annotations

from collections.abc import AsyncIterator

from flowbus_llm_gateway.providers.sse import ServerSentEvent, read_events


async def lines(text: str) -> AsyncIterator[str]:
    for line in text.splitlines():
        yield line


async def events(text: str) -> list[ServerSentEvent]:
    return [event async for event in read_events(lines(text))]


async def test_events_data_comments_and_crlf() -> None:
    stream = (
        ": keep-alive\r\n\r\n"
        'event: message_start\r\ndata: {"a": 1}\r\n\r\n'
        "data: line one\ndata: line two\n\n"
        "data: [DONE]\n\n"
    )
    assert await events(stream) == [
        ServerSentEvent("message_start", '{"a": 1}'),
        ServerSentEvent("message", "line one\nline two"),
        ServerSentEvent("message", "[DONE]"),
    ]


async def test_a_last_event_without_a_blank_line_still_counts() -> None:
    assert await events('data: {"candidates": []}') == [ServerSentEvent("message", '{"candidates": []}')]
