"""Pooled connections the server closed are replaced at checkout (no pre-ping round trip), so the
first store call after PostgreSQL dropped every connection (a restart, a failover) succeeds."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from flowbus_shared.store import NewEvent, open_store
from tests.support.waiting import wait_until

pytestmark = pytest.mark.asyncio


async def test_the_first_append_after_the_server_dropped_every_connection_succeeds(pg_url: str) -> None:
    store = await open_store(pg_url, pool_size=4)
    url = make_url(pg_url)
    admin = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database=url.database)
    try:
        returned: dict[int, Any] = {}  # the connections handed back to the pool
        event.listen(
            store.engine.sync_engine, "checkin", lambda conn, _record: returned.setdefault(id(conn), conn)
        )
        # Fill the pool: four appends at once hold four connections, then return them to it.
        streams = [f"reconnect-{uuid.uuid4().hex}" for _ in range(4)]
        await asyncio.gather(*(store.append(s, 0, [NewEvent("a", {})]) for s in streams))
        idle = list(returned.values())
        assert len(idle) >= 2

        pids = [conn.driver_connection.get_server_pid() for conn in idle]
        await admin.execute("select pg_terminate_backend(pid) from unnest($1::int[]) as pid", pids)
        await wait_until(
            lambda: all(conn.driver_connection.is_closed() for conn in idle),
            message="the pooled connections to see the server close them",
        )

        for stream_id in streams:  # each checkout meets a closed connection, and gets a fresh one
            assert await store.append(stream_id, 1, [NewEvent("b", {})]) == 2
    finally:
        await admin.close()
        await store.close()
