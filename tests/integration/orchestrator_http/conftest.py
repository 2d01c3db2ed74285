"""Fixtures of the HTTP API tests: the orchestrator serves HTTP on a free loopback port."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowbus_shared.settings import FlowbusSettings


@pytest.fixture(autouse=True)
def _orchestrator_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWBUS_ORCHESTRATOR_HTTP_ENABLED", "true")
    monkeypatch.setenv("FLOWBUS_ORCHESTRATOR_HTTP_PORT", "0")
    monkeypatch.setenv("FLOWBUS_API_RATE_LIMIT_PER_SECOND", "0")  # tests poll; limits are tested elsewhere
    monkeypatch.delenv("FLOWBUS_LLM_GATEWAY_URL", raising=False)


@pytest.fixture
def sqlite_settings(memory_settings: FlowbusSettings, tmp_path: Path) -> FlowbusSettings:
    return memory_settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'flowbus.db'}"}
    )
