"""/healthz, /readyz (real PostgreSQL and Kafka, and a database that is not there), /version
and /metrics, over a real server."""

from __future__ import annotations

import platform
import re
import socket

from flowbus_shared.bus import KafkaBus
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.store import create_engine
from tests.integration.http_platform.conftest import SERVICE, Served, serve_app


def closed_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends: nothing listens


async def test_liveness_answers_without_credentials(served: Served) -> None:
    async with served.anonymous() as anonymous:
        answer = await anonymous.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


async def test_ready_when_postgresql_and_kafka_answer(pg_url: str, kafka_settings: FlowbusSettings) -> None:
    engine = create_engine(pg_url)
    bus = KafkaBus(kafka_settings, client_name="readiness")
    await bus.connect()
    try:
        async with serve_app(engine, bus) as served, served.anonymous() as anonymous:
            answer = await anonymous.get("/readyz")
    finally:
        await bus.stop()
        await engine.dispose()
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "checks": {"database": "ok", "bus": "ok"}}


async def test_not_ready_names_the_database_when_it_is_not_there() -> None:
    port = closed_loopback_port()
    engine = create_engine(f"postgresql+asyncpg://flowbus@127.0.0.1:{port}/flowbus")
    try:
        async with serve_app(engine, None) as served, served.anonymous() as anonymous:
            answer = await anonymous.get("/readyz")
    finally:
        await engine.dispose()
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["detail"] == "not ready: database: unreachable"
    assert problem["checks"] == {"database": "unreachable"}
    assert problem["error"]["code"] == "not_ready"
    assert str(port) not in answer.text  # no addresses in a public answer


async def test_not_ready_names_a_kafka_bus_that_is_not_connected(
    pg_url: str, kafka_settings: FlowbusSettings
) -> None:
    engine = create_engine(pg_url)
    try:
        never_started = KafkaBus(kafka_settings, client_name="readiness")
        async with serve_app(engine, never_started) as served, served.anonymous() as anonymous:
            answer = await anonymous.get("/readyz")
    finally:
        await engine.dispose()
    assert answer.status_code == 503
    assert answer.json()["detail"] == "not ready: bus: not connected to Kafka"
    assert answer.json()["checks"] == {"database": "ok", "bus": "not connected to Kafka"}


async def test_version_names_the_service_and_its_versions(served: Served) -> None:
    async with served.anonymous() as anonymous:
        answer = await anonymous.get("/version")
    version = answer.json()
    assert version["service"] == SERVICE
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", version["flowbus"])
    assert version["python"] == platform.python_version()
    assert version["edition"] == "test"  # what the service added


async def test_metrics_count_requests_by_route_template_never_the_raw_path(served: Served) -> None:
    async with served.client() as client:
        for _ in range(3):
            assert (await client.get("/v1/things/raw-id-4711")).status_code == 200
    async with served.anonymous() as anonymous:
        await anonymous.get("/scanner/probe-9931")
        answer = await anonymous.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    labels = f'method="GET",route="/v1/things/{{thing_id}}",service="{SERVICE}",status="200"'
    count = re.search(rf"^flowbus_http_requests_total\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    assert count is not None
    assert float(count.group(1)) >= 3
    assert "flowbus_http_request_duration_seconds_count{" + labels + "}" in text
    assert 'route="<unmatched>"' in text
    assert "raw-id-4711" not in text
    assert "probe-9931" not in text


async def test_services_sharing_a_process_share_the_metrics_without_clashing(served: Served) -> None:
    # `flowbus dev` builds every service's application in one process.
    engine = create_engine("sqlite+aiosqlite://")
    try:
        async with serve_app(engine, None, service="second-service") as other, other.anonymous() as anonymous:
            assert (await anonymous.get("/healthz")).status_code == 200
            text = (await anonymous.get("/metrics")).text
    finally:
        await engine.dispose()
    assert 'route="/healthz",service="second-service"' in text
    assert f'service="{SERVICE}"' in text
