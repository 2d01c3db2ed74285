"""The governance service's HTTP API served for real (uvicorn on a free loopback port) over a
migrated database, with the in-process bus carrying what it tells the orchestrator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowbus_governance.adapters.agents import AgentRepository
from flowbus_governance.adapters.approvals import ApprovalStore
from flowbus_governance.adapters.audit import AuditLog
from flowbus_governance.app import create_api
from flowbus_governance.domain.policy import default_policy
from flowbus_governance.governance import Governance
from flowbus_governance.notifier import ApprovalNotifier
from flowbus_shared.auth import ApiKeys, Role
from flowbus_shared.bus import MemoryBus, ensure_topics
from flowbus_shared.http.server import HttpServer
from flowbus_shared.http.service_app import build_service_api
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.store import SqlEventStore, open_store
from flowbus_shared.topics import COMMANDS


@dataclass
class GovernanceApi:
    url: str
    governance: Governance
    notifier: ApprovalNotifier
    bus: MemoryBus
    store: SqlEventStore
    tokens: dict[str, str]

    def client(self, tenant: str = "acme", role: Role = "admin") -> httpx.AsyncClient:
        token = self.tokens[f"{tenant}/{role}"]
        return httpx.AsyncClient(base_url=self.url, headers={"authorization": f"Bearer {token}"})

    def commands(self) -> list[dict[str, Any]]:
        """What was sent to the orchestrator."""
        return [json.loads(record.value) for record in self.bus.records("flowbus." + COMMANDS.suffix)]


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[GovernanceApi]:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'governance.db'}")
    audit = AuditLog(store.engine)
    approvals = ApprovalStore(store.engine, audit)
    governance = Governance(
        AgentRepository(store.engine, audit), approvals, audit, default_policy(), approval_ttl_seconds=3600
    )
    bus = MemoryBus(FlowbusSettings(bus="memory"))
    notifier = ApprovalNotifier(bus, approvals)
    keys = ApiKeys(store.engine)
    tokens = {
        f"{tenant}/{role}": (await keys.create(tenant, role)).token
        for tenant in ("acme", "globex")
        for role in ("admin", "operator", "viewer")
    }
    platform = build_service_api(store.engine, bus, service="governance", description="test", keys=keys)
    server = HttpServer(create_api(platform, governance, notifier), "127.0.0.1", 0, name="test")
    await server.start()
    try:
        yield GovernanceApi(f"http://127.0.0.1:{server.port}", governance, notifier, bus, store, tokens)
    finally:
        await server.stop()
        await store.close()


@pytest.fixture
async def system_settings(kafka_settings: FlowbusSettings, pg_url: str) -> FlowbusSettings:
    settings = kafka_settings.model_copy(update={"database_url": pg_url})
    await ensure_topics(settings)
    return settings
