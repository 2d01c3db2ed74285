"""An OpenAI Chat Completions double: answers whole or as an SSE stream, in the documented
chunk format (role chunk, content chunks, finish chunk, usage chunk, [DONE])."""

from __future__ import annotations

import json
from typing import Any

from tests.support.http_double import Recorded, chat_completion

SSE_HEADERS = {"content-type": "text/event-stream"}
USAGE = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}


def sse_chunks(
    pieces: list[str], *, model: str = "test-model", finish: str = "stop", complete: bool = True
) -> bytes:
    """The stream of `pieces`; `complete=False` stops after them (a broken stream: no finish, no [DONE])."""

    def chunk(delta: dict[str, Any], finish_reason: str | None = None, usage: Any = None) -> bytes:
        body = {
            "id": "chatcmpl-stream",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": model,
            "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            "usage": usage,
        }
        return f"data: {json.dumps(body)}\n\n".encode()

    out = chunk({"role": "assistant", "content": ""})
    out += b"".join(chunk({"content": piece}) for piece in pieces)
    if not complete:
        return out
    out += chunk({}, finish) + chunk({}, usage=USAGE) + b"data: [DONE]\n\n"
    return out


def openai_answer(pieces: list[str]) -> Any:
    """A `respond` for http_double: `pieces` joined when asked whole, streamed one by one otherwise."""

    def respond(recorded: Recorded) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
        if isinstance(recorded.body, dict) and recorded.body.get("stream"):
            return 200, sse_chunks(pieces), SSE_HEADERS
        return 200, chat_completion("".join(pieces))

    return respond
