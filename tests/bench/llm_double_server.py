"""A fast OpenAI Chat Completions double for the gateway benchmark, run as its own process
(`python -m tests.bench.llm_double_server PORT`): a fixed answer, whole or as SSE chunks."""

from __future__ import annotations

import json
import sys
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.http_double import chat_completion
from tests.support.llm_double import sse_chunks

WHOLE = chat_completion("The quick brown fox jumps over the lazy dog.")
STREAM = sse_chunks(["The quick ", "brown fox ", "jumps over ", "the lazy dog."])


async def completions(request: Request) -> Response:
    body: Any = json.loads(await request.body())
    if body.get("stream"):
        return Response(STREAM, media_type="text/event-stream")
    return JSONResponse(WHOLE)


app = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )
