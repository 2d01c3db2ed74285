"""Async engines for PostgreSQL (asyncpg) and SQLite (aiosqlite)."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
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


def _refuse_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Checkout: a connection the server has closed (a restart, an idle timeout) is replaced before
    use. asyncpg knows it from the socket, so this costs no round trip, unlike SQLAlchemy's pre-ping
    (a statement per checkout). A connection that dies while in use fails its statement; SQLAlchemy
    then discards the pool's connections, and the caller's redelivery or retry gets fresh ones."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, pool_size: int = 32) -> AsyncEngine:
    if not is_sqlite(url):
        engine = create_async_engine(
            url,
            pool_size=pool_size,
            # Connections past the pool are closed on return: a pool smaller than the consumers'
            # concurrency (FLOWBUS_MAX_IN_FLIGHT) reconnects all the time (the bench saw 13% of
            # the executor's CPU go to connecting), so the pool is sized to it and bursts are small.
            max_overflow=max(1, pool_size // 2),
            json_serializer=_json_text,
            json_deserializer=_json_value,
        )
        event.listen(engine.sync_engine, "checkout", _refuse_closed)
        return engine
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


def standalone_statements(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, for statements that stand alone (a look-up, an idempotent insert): on PostgreSQL
    each commits by itself, without BEGIN and COMMIT/ROLLBACK round trips around it; SQLite's engine
    as it is (its writers need BEGIN IMMEDIATE)."""
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")
