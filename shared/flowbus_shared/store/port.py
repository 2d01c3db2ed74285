"""The event store port: what every backend offers, and the values it speaks in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.sql import Executable


@dataclass(frozen=True)
class NewEvent:
    event_type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class StoredEvent:
    stream_id: str
    version: int
    event_type: str
    data: dict[str, Any]
    causation_id: str | None
    recorded_at: datetime
    position: int


@dataclass(frozen=True)
class Snapshot:
    stream_id: str
    version: int
    state: dict[str, Any]
    taken_at: datetime


@dataclass(frozen=True)
class Causation:
    """The message an append answers; recorded so a redelivery is recognised."""

    consumer: str
    message_id: str


@dataclass(frozen=True)
class OutboxMessage:
    """A message owed to the bus, written in the same transaction as its events."""

    topic: str
    key: str | None
    payload: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PendingMessage(OutboxMessage):
    id: int = 0


@dataclass(frozen=True)
class TimerSpec:
    timer_id: str
    stream_id: str
    fire_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class RowWrite:
    """A write to the caller's own tables (a read model), committed with the events. Pass the same
    `statement` object every time: a group's writes of one statement go out as one executemany."""

    statement: Executable
    params: dict[str, Any]


@dataclass(frozen=True)
class Append:
    """One stream's part of a (possibly multi-stream) atomic append."""

    stream_id: str
    expected_version: int
    events: Sequence[NewEvent]
    causation: Causation | None = None
    outbox: Sequence[OutboxMessage] = ()
    timers: Sequence[TimerSpec] = ()
    cancel_timers: Sequence[str] = ()
    also: Sequence[RowWrite] = ()


Publish = Callable[[Sequence[PendingMessage]], Awaitable[None]]


class EventStore(Protocol):
    """Append-only streams with optimistic concurrency, snapshots, timers and an outbox.

    `append_many` is one transaction: every stream's version check, its
    events, the causing message's id, the outbox rows and the timers commit
    together or not at all. A stale expected version raises
    ConcurrencyConflict; a causation already recorded raises AlreadyProcessed.
    """

    async def append_many(self, appends: Sequence[Append]) -> list[int]: ...

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        causation: Causation | None = None,
        outbox: Sequence[OutboxMessage] = (),
        timers: Sequence[TimerSpec] = (),
        cancel_timers: Sequence[str] = (),
        also: Sequence[RowWrite] = (),
    ) -> int: ...

    async def read(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]: ...

    async def current_version(self, stream_id: str) -> int: ...

    async def is_processed(self, consumer: str, message_id: str) -> bool: ...

    async def save_snapshot(self, snapshot: Snapshot) -> None: ...

    async def load_snapshot(self, stream_id: str) -> Snapshot | None: ...

    async def claim_due_timers(
        self, now: datetime, *, limit: int = 100, lease_seconds: float = 30.0
    ) -> list[TimerSpec]: ...

    async def delete_timers(self, timer_ids: Sequence[str]) -> None: ...

    async def relay_outbox(self, publish: Publish, *, limit: int = 100) -> int: ...

    async def close(self) -> None: ...
