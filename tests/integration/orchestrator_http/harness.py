"""The orchestrator's HTTP API on a running flowbus: the real orchestrator service (its
uvicorn server on a free loopback port) with test step workers, reached with httpx and real
API keys of two tenants."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from flowbus_shared.auth import ApiKeys, Role
from flowbus_shared.settings import FlowbusSettings
from tests.support.system import System, TestSteps, running_system
from tests.support.waiting import wait_until


@dataclass
class Api:
    system: System
    url: str
    tenant_a: str
    tenant_b: str
    tokens: dict[str, str]  # who -> bearer token: admin, operator, viewer (tenant A); b_admin (tenant B)
    clients: dict[str, httpx.AsyncClient]

    def __getitem__(self, who: str) -> httpx.AsyncClient:
        return self.clients[who]

    async def register(self, definition: dict[str, Any], who: str = "admin") -> dict[str, Any]:
        response = await self[who].post("/v1/workflows", json=definition)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    async def execution(self, execution_id: str, who: str = "viewer") -> dict[str, Any]:
        response = await self[who].get(f"/v1/executions/{execution_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def wait_status(self, execution_id: str, *statuses: str, who: str = "viewer") -> dict[str, Any]:
        async def reached() -> bool:
            response = await self[who].get(f"/v1/executions/{execution_id}")
            return response.status_code == 200 and response.json()["status"] in statuses

        await wait_until(reached, within=30, interval=0.05, message=f"{execution_id} to be {statuses}")
        return await self.execution(execution_id, who)


ROLES: dict[str, tuple[str, Role]] = {
    "admin": ("a", "admin"),
    "operator": ("a", "operator"),
    "viewer": ("a", "viewer"),
    "b_admin": ("b", "admin"),
}


@asynccontextmanager
async def api_system(
    settings: FlowbusSettings, steps: TestSteps, step_types: list[str], *, prefix: str
) -> AsyncIterator[Api]:
    async with running_system(settings, steps, step_types) as system:
        server = system.orchestrator.server
        assert server is not None, "the orchestrator serves no HTTP API"
        url = f"http://127.0.0.1:{server.port}"
        tenants = {"a": f"tenant-a-{prefix}", "b": f"tenant-b-{prefix}"}
        keys = ApiKeys(system.context.store.engine)
        tokens = {
            who: (await keys.create(tenants[tenant], role, f"test {who}")).token
            for who, (tenant, role) in ROLES.items()
        }
        clients = {
            who: httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=60)
            for who, token in tokens.items()
        }
        clients["anonymous"] = httpx.AsyncClient(base_url=url, timeout=60)
        try:
            yield Api(system, url, tenants["a"], tenants["b"], tokens, clients)
        finally:
            for client in clients.values():
                await client.aclose()
