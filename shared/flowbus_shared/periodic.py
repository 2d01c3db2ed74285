"""A piece of housekeeping a service runs every so often (sweepers, pollers), started and
stopped with the service. A failing round is logged and the next one tries again: nothing
a sweep meets stops the service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("flowbus.periodic")


class Periodic:
    def __init__(self, work: Callable[[], Awaitable[object]], every_seconds: float, *, name: str) -> None:
        self._work = work
        self._every = every_seconds
        self._name = name
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            try:
                await self._work()
            except Exception:
                log.exception("%s failed; trying again in %.1f s", self._name, self._every)
            await asyncio.sleep(self._every)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
