"""Concurrency that keeps Kafka's guarantees: messages with different keys run at the
same time, messages with the same key run one after another in offset order, at
most `max_in_flight` at once; and an offset becomes committable only when every
earlier message of its partition is finished.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable


class KeyedLanes:
    """One lane per key: work of a key starts when the previous work of that key ended."""

    def __init__(self, max_in_flight: int) -> None:
        self._slots = asyncio.Semaphore(max_in_flight)
        self._lanes: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, key: str, work: Callable[[], Awaitable[None]]) -> None:
        """Returns once the work is queued; waits while `max_in_flight` are queued or running."""
        await self._slots.acquire()
        previous = self._lanes.get(key)
        task = asyncio.create_task(self._after(previous, work))
        self._lanes[key] = task
        self._tasks.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            if self._lanes.get(key) is done:
                del self._lanes[key]
            self._slots.release()

        task.add_done_callback(finished)

    @staticmethod
    async def _after(previous: asyncio.Task[None] | None, work: Callable[[], Awaitable[None]]) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # its outcome is its own business
        await work()

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.wait(list(self._tasks))


class PartitionProgress:
    """Offsets of one consumer in flight, per partition; `finish` says how far it may commit."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, int], deque[list[int]]] = {}
        self._entries: dict[tuple[str, int, int], list[int]] = {}

    def begin(self, topic: str, partition: int, offset: int) -> None:
        entry = [offset, 0]
        self._open.setdefault((topic, partition), deque()).append(entry)
        self._entries[(topic, partition, offset)] = entry

    def finish(self, topic: str, partition: int, offset: int) -> int | None:
        """Mark `offset` done; return the highest offset now done with nothing open before it."""
        entry = self._entries.pop((topic, partition, offset), None)
        if entry is None:
            return None
        entry[1] = 1
        queue = self._open[(topic, partition)]
        committable = None
        while queue and queue[0][1]:
            committable = queue.popleft()[0]
        return committable

    def forget(self, topic: str, partition: int) -> None:
        """The partition went to another consumer: what is open here is not ours to commit."""
        for entry in self._open.pop((topic, partition), deque()):
            self._entries.pop((topic, partition, entry[0]), None)
