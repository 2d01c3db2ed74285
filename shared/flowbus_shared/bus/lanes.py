"""Concurrency that keeps Kafka's guarantees: messages with different keys run at the
same time, messages with the same key run one after another in offset order, at
most `max_in_flight` at once; and an offset becomes committable only when every
earlier message of its partition is finished.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger("flowbus.bus")

Item = TypeVar("Item")
Run = Callable[[list[Item]], Awaitable[None]]


MAX_BATCH = 100  # messages of one key handed over together at most


class KeyedLanes(Generic[Item]):
    """One lane per key: a key's items run one batch after another, in the order submitted.

    Items that queue up behind a running batch of their key go together in the next one, when
    they share its `run` (the same subscription) and it accepts batches; otherwise one at a time.
    """

    def __init__(self, max_in_flight: int) -> None:
        self._slots = asyncio.Semaphore(max_in_flight)
        self._lanes: dict[str, deque[tuple[Item, Run[Item], bool]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, key: str, item: Item, run: Run[Item], *, batches: bool = False) -> None:
        """Returns once the item is queued; waits while `max_in_flight` items are queued or running."""
        await self._slots.acquire()
        lane = self._lanes.get(key)
        if lane is not None:
            lane.append((item, run, batches))  # its lane's task takes it in turn
            return
        lane = self._lanes[key] = deque([(item, run, batches)])
        task = asyncio.create_task(self._drain(key, lane))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, key: str, lane: deque[tuple[Item, Run[Item], bool]]) -> None:
        while lane:
            item, run, batches = lane.popleft()
            batch = [item]
            while batches and lane and lane[0][1] is run and len(batch) < MAX_BATCH:
                batch.append(lane.popleft()[0])
            try:
                await run(batch)
            except Exception:  # a run settles its own items; this one broke that promise
                log.exception("lane %s: a batch of %d failed outside its delivery policy", key, len(batch))
            finally:
                for _ in batch:
                    self._slots.release()
        del self._lanes[key]  # no await since the loop's test: nothing was queued meanwhile

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
