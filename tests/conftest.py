"""Fixtures shared by every suite: real PostgreSQL databases, Kafka settings, tracing."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.telemetry import configure_tracing
from tests.support.infra import create_pg_database, drop_kafka_topics, drop_pg_database, require_kafka

_SPANS = InMemorySpanExporter()

# Services started in-process by tests serve their HTTP APIs on free ports, never the
# fixed defaults (several may run at once, and a developer's `make up` may hold those).
for _service in ("ORCHESTRATOR", "EXECUTOR", "GOVERNANCE", "LLM"):
    os.environ.setdefault(f"FLOWBUS_{_service}_HTTP_PORT", "0")


@pytest.fixture(scope="session", autouse=True)
def _tracing() -> None:
    # Spans stay in memory so tests can check the trace context that messages carry.
    configure_tracing("flowbus-tests", extra_processors=(SimpleSpanProcessor(_SPANS),))


@pytest.fixture
def spans() -> InMemorySpanExporter:
    _SPANS.clear()
    return _SPANS


@pytest.fixture
def topic_prefix() -> str:
    """Each test gets topics of its own on the shared broker."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def kafka_settings(topic_prefix: str) -> Iterator[FlowbusSettings]:
    settings = FlowbusSettings(
        bus="kafka",
        kafka_bootstrap_servers=require_kafka(),
        topic_prefix=topic_prefix,
        consumer_group_prefix=topic_prefix,
        topic_partitions=3,
        max_deliveries=3,
        redelivery_backoff_seconds=0.05,
    )
    yield settings
    asyncio.run(drop_kafka_topics(settings.kafka_bootstrap_servers, topic_prefix))


@pytest.fixture
def memory_settings(topic_prefix: str) -> FlowbusSettings:
    return FlowbusSettings(
        bus="memory",
        topic_prefix=topic_prefix,
        consumer_group_prefix=topic_prefix,
        topic_partitions=3,
        max_deliveries=3,
        redelivery_backoff_seconds=0.01,
    )


# Database fixtures are synchronous (own short event loop) so parametrised fixtures
# can pick them with request.getfixturevalue.
@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """One fresh PostgreSQL database for the session (each test uses its own stream ids)."""
    name, url = asyncio.run(create_pg_database())
    yield url
    asyncio.run(drop_pg_database(name))


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database for tests that need one (migrations)."""
    name, url = asyncio.run(create_pg_database())
    yield url
    asyncio.run(drop_pg_database(name))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each backend in turn: the contract suites run against all of them."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'flowbus.db'}"
    return str(request.getfixturevalue("pg_url"))
