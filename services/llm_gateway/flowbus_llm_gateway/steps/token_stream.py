"""Live output of an llm step on `flowbus.llm-tokens`: LlmTokenEvents keyed by request.

Pieces that arrive while the previous event is still being published are coalesced into
the next one, so a fast model never waits on Kafka and a slow one is seen token by token.
Events of a request are numbered from 0 (`index`) and have deterministic message ids, so a
viewer can de-duplicate a redelivered attempt; the last has `finished` set and carries the
finish reason, provider, model and usage.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType

from flowbus_llm_gateway.gateway import Answer
from flowbus_llm_gateway.model import StreamDelta
from flowbus_shared.schemas import LlmTokenEvent, StepRequest
from flowbus_shared.schemas.llm import TokenUsage

# Within LlmTokenEvent's limit on `delta`.
MAX_EVENT_TEXT = 50_000

PublishToken = Callable[[LlmTokenEvent], Awaitable[None]]


class TokenStream:
    def __init__(self, publish: PublishToken, request: StepRequest) -> None:
        self._publish = publish
        self._request = request
        self._pending: list[str] = []
        self._ready = asyncio.Event()
        self._closed = False
        self._index = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> TokenStream:
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(
        self, _type: type[BaseException] | None, _error: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self._closed = True
        self._ready.set()
        if self._task is not None:
            if _error is not None:  # the step failed: drop what was not yet published
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def put(self, delta: StreamDelta) -> None:
        if delta.content:
            self._pending.append(delta.content)
            self._ready.set()

    async def finish(self, answer: Answer) -> None:
        """Publish what is pending, then the final event with usage."""
        self._closed = True
        self._ready.set()
        if self._task is not None:
            await self._task
            self._task = None
        usage = answer.response.usage
        await self._send(
            "",
            finished=True,
            finish_reason=answer.response.finish_reason,
            provider=answer.model.provider,
            model=answer.model.model,
            usage=TokenUsage(**usage.model_dump()),
        )

    async def _pump(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            if self._pending:
                text, self._pending = "".join(self._pending), []
                for start in range(0, len(text), MAX_EVENT_TEXT):
                    await self._send(text[start : start + MAX_EVENT_TEXT])
            if self._closed and not self._pending:
                return

    async def _send(
        self,
        delta: str,
        *,
        finished: bool = False,
        finish_reason: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        usage: TokenUsage | None = None,
    ) -> None:
        request_id = self._request.idempotency_key
        event = LlmTokenEvent(
            message_id=f"{request_id}:{self._index}",
            request_id=request_id,
            execution_id=self._request.execution_id,
            step_id=self._request.step_id,
            index=self._index,
            delta=delta,
            finished=finished,
            finish_reason=finish_reason,
            provider=provider,
            model=model,
            usage=usage,
        )
        self._index += 1
        await self._publish(event)
