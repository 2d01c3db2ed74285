"""The end-to-end suite's system: Kafka and PostgreSQL (a fresh database and topic prefix), the
four services as separate `flowbus serve` processes prepared with the CLI, and loopback doubles
of every remote service (Slack, Asana, SMTP, HTTP APIs, the LLM provider). One system serves the
whole package (torn down after its last test); tests that stop or kill services start them again."""

from __future__ import annotations

import contextlib
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.e2e_doubles import Doubles, remote_doubles
from tests.support.e2e_kafka import PlainProducer, TopicReader
from tests.support.e2e_llm import llm_double
from tests.support.e2e_system import SERVICES, E2ESystem
from tests.support.http_double import HttpDouble
from tests.support.infra import create_pg_database, drop_pg_database, require_kafka
from tests.support.jaeger import Jaeger, running_jaeger

EXPORT_PROTOCOLS = {
    "orchestrator": "grpc",
    "executor": "http/protobuf",
    "governance": "grpc",
    "llm-gateway": "http/protobuf",
    "cli": "http/protobuf",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: the whole system as OS processes (select with `pytest tests/e2e`)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@dataclass
class E2E:
    system: E2ESystem
    doubles: Doubles
    llm: HttpDouble
    producer: PlainProducer
    dead_letters: TopicReader
    jaeger: Jaeger

    async def ensure_running(self) -> None:
        """Every service up again (a test that failed half-way may have left one down)."""
        await self.system.start(*SERVICES)


def report_errors(system: E2ESystem) -> None:
    """Errors the services logged (none is expected, kills included) show in the test summary."""
    errors = system.errors_logged()
    if errors:
        warnings.warn(
            f"{len(errors)} error lines in the service logs:\n" + "\n".join(errors[:40]), stacklevel=1
        )


@pytest.fixture(scope="package")
def e2e_doubles() -> Iterator[tuple[Doubles, HttpDouble]]:
    with remote_doubles() as doubles, llm_double() as llm:
        yield doubles, llm


@pytest.fixture(scope="package")
async def e2e(
    e2e_doubles: tuple[Doubles, HttpDouble], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[E2E]:
    doubles, llm = e2e_doubles
    name, url = await create_pg_database()
    workdir = tmp_path_factory.mktemp("e2e")
    system = E2ESystem(
        workdir=workdir,
        prefix=f"e2e{uuid.uuid4().hex[:10]}",
        database_url=url,
        bootstrap=require_kafka(),
        doubles=doubles,
        llm=llm,
    )
    producer = PlainProducer(system.bootstrap)
    dead_letters = TopicReader(system.bootstrap, system.topic("dead-letter"))
    async with contextlib.AsyncExitStack() as cleanup:
        # Undone in reverse, each whatever happened before: no service process outlives the session.
        cleanup.push_async_callback(drop_pg_database, name)
        # Every process exports its spans through the collector to Jaeger, over both OTLP protocols.
        jaeger = await cleanup.enter_async_context(running_jaeger(workdir))
        system.extra_env = {
            service: jaeger.exporting_env(protocol) for service, protocol in EXPORT_PROTOCOLS.items()
        }
        cleanup.callback(report_errors, system)  # after the shutdown: its lines count too
        cleanup.push_async_callback(system.shutdown)
        await system.prepare()
        await system.start_all()
        await producer.start()
        cleanup.push_async_callback(producer.stop)
        cleanup.push_async_callback(dead_letters.stop)
        await dead_letters.start()
        yield E2E(system, doubles, llm, producer, dead_letters, jaeger)


@pytest.fixture
async def running(e2e: E2E) -> E2E:
    await e2e.ensure_running()
    return e2e


@pytest.fixture
def uid() -> str:
    """A marker unique to one test, found again in what the doubles received."""
    return uuid.uuid4().hex[:10]
