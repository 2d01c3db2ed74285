"""The event store: a port, one SQLAlchemy adapter (PostgreSQL, SQLite) and migrations."""

from __future__ import annotations

from flowbus_shared.store.engine import create_engine, is_sqlite
from flowbus_shared.store.errors import AlreadyProcessed, ConcurrencyConflict
from flowbus_shared.store.migrate import upgrade
from flowbus_shared.store.port import (
    Append,
    Causation,
    EventStore,
    NewEvent,
    OutboxMessage,
    PendingMessage,
    RowWrite,
    Snapshot,
    StoredEvent,
    TimerSpec,
)
from flowbus_shared.store.sql_store import SqlEventStore


async def open_store(url: str, *, pool_size: int = 32, migrate: bool = True) -> SqlEventStore:
    """An event store on `url`, its schema brought up to date first."""
    engine = create_engine(url, pool_size=pool_size)
    if migrate:
        await upgrade(engine)
    return SqlEventStore(engine)


__all__ = [
    "AlreadyProcessed",
    "Append",
    "Causation",
    "ConcurrencyConflict",
    "EventStore",
    "NewEvent",
    "OutboxMessage",
    "PendingMessage",
    "RowWrite",
    "Snapshot",
    "SqlEventStore",
    "StoredEvent",
    "TimerSpec",
    "create_engine",
    "is_sqlite",
    "open_store",
    "upgrade",
]
