"""Async engines for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# orjson reads and writes the stored JSON (events, outbox, snapshots) several times faster than the
# standard library; it cannot hold integers past 64 bits, so those go through `json`, exact.
_LONG_INTEGER = re.compile(r"\d{19}")


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # an integer past 64 bits (orjson refuses it)
        return json.dumps(value)


def _json_value(text: str | bytes) -> Any:
    if _LONG_INTEGER.search(text if isinstance(text, str) else text.decode()):
        return json.loads(text)  # orjson would read a long integer as a float
    return orjson.loads(text)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if not is_sqlite(url):
        # No pre-ping: it costs a round trip per checkout. A connection that died with its server fails
        # its statement instead, SQLAlchemy discards the pool's connections on such a disconnect, and
        # the caller's redelivery or retry runs again on a fresh one.
        return create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            json_serializer=_json_text,
            json_deserializer=_json_value,
        )
    engine = create_async_engine(
        url, connect_args={"timeout": 30}, json_serializer=_json_text, json_deserializer=_json_value
    )
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so BEGIN IMMEDIATE below
        # takes the write lock up front: concurrent writers queue instead of failing.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def reads_without_transaction(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, for single-statement reads: on PostgreSQL without BEGIN and ROLLBACK around
    the statement (two round trips fewer); SQLite's engine as it is (its writers need BEGIN IMMEDIATE)."""
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")
