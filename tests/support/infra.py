"""Where the suites find the real Kafka and PostgreSQL that `make test` starts."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

KAFKA_BOOTSTRAP = os.environ.get("FLOWBUS_TEST_KAFKA", "127.0.0.1:19092")
PG_HOST = os.environ.get("FLOWBUS_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("FLOWBUS_TEST_PG_PORT", "55432"))
PG_USER = os.environ.get("FLOWBUS_TEST_PG_USER", "flowbus")


def require_port(host: str, port: int, what: str) -> None:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as error:
        raise RuntimeError(
            f"{what} is not reachable on {host}:{port} ({error}); start it with `make infra-up` "
            "or run the suite through `make test`"
        ) from None


def require_kafka() -> str:
    host, port = KAFKA_BOOTSTRAP.rsplit(":", 1)
    require_port(host, int(port), "Kafka")
    return KAFKA_BOOTSTRAP


async def create_pg_database() -> tuple[str, str]:
    """A fresh, empty database; returns (name, SQLAlchemy URL)."""
    require_port(PG_HOST, PG_PORT, "PostgreSQL")
    name = f"flowbus_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="flowbus")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return name, f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


async def drop_pg_database(name: str, attempts: int = 5) -> None:
    connection = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="flowbus")
    try:
        for attempt in range(1, attempts + 1):
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except asyncpg.InsufficientPrivilegeError:
                # FORCE may not end a backend of another role (an autovacuum worker that started on
                # the database): it finishes soon, so try again after a short back-off.
                if attempt == attempts:
                    raise
                await asyncio.sleep(0.2 * attempt)
    finally:
        await connection.close()


async def drop_kafka_topics(bootstrap: str, prefix: str) -> None:
    """Delete a test's topics: every partition costs the broker open files, and a suite
    that never cleans up runs the broker out of them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="flowbus-tests-cleanup")
    await admin.start()
    try:
        names = [name for name in await admin.list_topics() if name.startswith(f"{prefix}.")]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()
