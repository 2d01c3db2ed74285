"""A real HTTP server on loopback standing in for a remote service (its documented wire
format is the test's business): it records each request and answers with `respond`."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


# (status, body) or (status, body, extra response headers), e.g. a Retry-After.
Respond = Callable[[Recorded], tuple[int, Any] | tuple[int, Any, dict[str, str]]]


@dataclass
class HttpDouble:
    url: str
    requests: list[Recorded] = field(default_factory=list)


class _Server(ThreadingHTTPServer):
    # A listen backlog of 5 (socketserver's default) overflows when a service fires dozens of calls at
    # once: the kernel drops the handshake's last ACK, and the client's request dies with a ReadError.
    request_queue_size = 256


@contextmanager
def http_double(respond: Respond) -> Iterator[HttpDouble]:
    double = HttpDouble(url="")

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            recorded = Recorded(self.command, self.path, dict(self.headers.items()), body)
            double.requests.append(recorded)
            reply = respond(recorded)
            status, answer = reply[0], reply[1]
            headers: dict[str, str] = reply[2] if len(reply) == 3 else {}
            payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            if not any(name.lower() == "content-type" for name in headers):
                self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, *_args: Any) -> None:  # keep test output clean
            return None

    server = _Server(("127.0.0.1", 0), Handler)
    double.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield double
    finally:
        server.shutdown()
        server.server_close()


def chat_completion(content: str) -> dict[str, Any]:
    """An OpenAI Chat Completions response carrying `content`."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
    }
