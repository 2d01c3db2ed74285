"""Group commit: appends that arrive while a commit is in flight go together in the next one.

The first caller with nothing in flight commits at once (no added latency when idle); under load,
everyone who arrived meanwhile shares one transaction: one commit (one WAL flush) and one round trip
per statement for the whole group instead of per append. Each caller still gets its own outcome: if
the group's transaction fails on a version conflict or a message already processed, its appends are
retried one by one, so only the appends at fault see the error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from flowbus_shared.store.errors import AlreadyProcessed, ConcurrencyConflict
from flowbus_shared.store.port import Append
from flowbus_shared.store.sql_store import SqlEventStore


class GroupCommit:
    def __init__(self, store: SqlEventStore, *, max_group: int = 200) -> None:
        self._store = store
        self._max_group = max_group
        self._waiting: list[tuple[Append, asyncio.Future[int]]] = []
        self._committer: asyncio.Task[None] | None = None

    async def append(self, item: Append) -> int:
        """The stream's version after `item`; raises what a single append would."""
        return await self._enqueue(item)

    async def append_all(self, items: Sequence[Append]) -> list[int | BaseException]:
        """Several appends queued together (so they share a transaction when the group has room);
        each one's version after it, or the error a single append would have raised."""
        futures = [self._enqueue(item) for item in items]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        return list(outcomes)

    def _enqueue(self, item: Append) -> asyncio.Future[int]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        # The commits run in a task of their own: a caller that is cancelled strands no one.
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_waiting(), name="group-commit")
        return future

    async def _commit_waiting(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[: self._max_group], self._waiting[self._max_group :]
            await self._commit(group)

    async def _commit(self, group: Sequence[tuple[Append, asyncio.Future[int]]]) -> None:
        try:
            versions = await self._store.append_many([item for item, _ in group])
        except (ConcurrencyConflict, AlreadyProcessed) as error:
            if len(group) == 1:
                _settle(group[0][1], error=error)
                return
            for item, future in group:  # find out whose it was: each on its own
                try:
                    _settle(future, version=(await self._store.append_many([item]))[0])
                except Exception as single:  # noqa: BLE001 - handed to the caller that owns it
                    _settle(future, error=single)
        except BaseException as error:
            for _, future in group:
                _settle(future, error=error)
            if not isinstance(error, Exception):
                raise
        else:
            for (_, future), version in zip(group, versions, strict=True):
                _settle(future, version=version)


def _settle(future: asyncio.Future[int], *, version: int = 0, error: BaseException | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(version)
