"""The orchestrator on the real Kafka and PostgreSQL."""

from __future__ import annotations

import pytest

from flowbus_shared.bus import ensure_topics
from flowbus_shared.settings import FlowbusSettings


@pytest.fixture(autouse=True)
def _no_orchestrator_http(monkeypatch: pytest.MonkeyPatch) -> None:
    # These tests drive the orchestrator through the bus; its HTTP API would take port 8300.
    monkeypatch.setenv("FLOWBUS_ORCHESTRATOR_HTTP_ENABLED", "false")


@pytest.fixture
async def system_settings(kafka_settings: FlowbusSettings, pg_url: str) -> FlowbusSettings:
    settings = kafka_settings.model_copy(update={"database_url": pg_url, "max_deliveries": 5})
    await ensure_topics(settings)
    return settings
