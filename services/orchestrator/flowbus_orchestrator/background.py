"""The orchestrator's two pollers: the outbox relay and the durable-timer poller.

Both are timed polls with a wake-up hint, never sleeps in a consumer: after a
restart they simply pick up what the database says is owed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

from flowbus_shared.bus import MessageBus
from flowbus_shared.bus.headers import outgoing_headers
from flowbus_shared.schemas import TimerFired, encode
from flowbus_shared.store import PendingMessage, SqlEventStore

log = logging.getLogger("flowbus.orchestrator")


async def sleep_or_wake(wake: asyncio.Event, seconds: float) -> None:
    """Pause until woken or `seconds` pass (a timed poll beside a wake-up hint)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), timeout=seconds)
    wake.clear()


class Poller:
    """Runs `step` in a loop; `step` returns how much it did, and an idle loop waits."""

    def __init__(self, name: str, step: Callable[[], Coroutine[Any, Any, int]], idle_seconds: float) -> None:
        self.name = name
        self._step = step
        self._idle_seconds = idle_seconds
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                done = await self._step()
                failures = 0
            except Exception:  # a database or broker outage must not end the loop
                failures += 1
                log.exception("%s failed (%d in a row); retrying", self.name, failures)
                await asyncio.sleep(min(0.1 * 2**failures, 5.0))
                continue
            if done == 0:
                await sleep_or_wake(self.wake, self._idle_seconds)


def outbox_relay(
    store: SqlEventStore, bus: MessageBus, *, batch: int = 500
) -> Callable[[], Coroutine[Any, Any, int]]:
    async def publish(messages: Sequence[PendingMessage]) -> None:
        # Sent together so the producer batches them; it keeps per-partition order.
        await asyncio.gather(
            *(bus.forward(m.topic, m.payload, key=m.key, headers=m.headers) for m in messages)
        )

    async def relay() -> int:
        return await store.relay_outbox(publish, limit=batch)

    return relay


def timer_poller(
    store: SqlEventStore, bus: MessageBus, *, batch: int = 500
) -> Callable[[], Coroutine[Any, Any, int]]:
    async def fire() -> int:
        due = await store.claim_due_timers(datetime.now(UTC), limit=batch)
        for timer in due:
            try:
                command = TimerFired(
                    message_id=timer.timer_id,  # a timer fired twice (expired lease) is recognised
                    execution_id=timer.stream_id,
                    timer_id=timer.timer_id,
                    purpose=timer.payload["purpose"],
                    step_id=timer.payload["step_id"],
                    attempt=timer.payload["attempt"],
                )
                topic = str(timer.payload["topic"])
            except (KeyError, ValueError) as error:  # a row no orchestrator wrote: drop it, go on
                log.error("discarding malformed timer %s: %r", timer.timer_id, error)
                continue
            # Under the execution's root span, recorded when the timer was set.
            headers = outgoing_headers(command, {"traceparent": str(timer.payload.get("traceparent", ""))})
            await bus.forward(topic, encode(command), key=command.execution_id, headers=headers)
        await store.delete_timers([timer.timer_id for timer in due])
        return len(due)

    return fire
