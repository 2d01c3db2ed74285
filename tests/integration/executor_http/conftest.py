"""The executor service run for real on the in-process bus over a migrated database (SQLite and
PostgreSQL), its HTTP API served by uvicorn on a free loopback port, and the Slack double of
the executor suites standing in for Slack's Web API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from flowbus_executor.app import ExecutorService
from flowbus_executor.settings import ExecutorSettings
from flowbus_shared.auth import ApiKeys, Role
from flowbus_shared.bus import Delivery
from flowbus_shared.runtime import Context, Runtime, Service
from flowbus_shared.schemas import StepRequest, StepResult
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import STEP_RESULTS, STEPS_EXECUTOR
from tests.integration.executor.test_slack import posted
from tests.support.executor_deps import TEST_MASTER_KEYS
from tests.support.http_double import HttpDouble, http_double
from tests.support.waiting import wait_until

ROLES: tuple[Role, ...] = ("admin", "operator", "viewer")


@dataclass
class ExecutorHttp:
    url: str
    context: Context
    tenants: dict[str, str]  # test name -> tenant id (unique: the PostgreSQL database is shared)
    tokens: dict[str, str]
    results: list[StepResult] = field(default_factory=list)

    def client(self, tenant: str = "acme", role: Role = "admin") -> httpx.AsyncClient:
        token = self.tokens[f"{tenant}/{role}"]
        return httpx.AsyncClient(base_url=self.url, headers={"authorization": f"Bearer {token}"})

    async def run_step(self, tenant: str, step_type: str, config: dict[str, Any]) -> StepResult:
        """Send a step request as the orchestrator would and wait for its result."""
        request = StepRequest(
            execution_id=f"exec-{uuid.uuid4().hex[:8]}",
            workflow_id="wf",
            tenant_id=self.tenants[tenant],
            step_id="notify",
            step_type=step_type,
            config=config,
        )
        await self.context.bus.publish(STEPS_EXECUTOR, request)

        def answered() -> bool:
            return any(result.execution_id == request.execution_id for result in self.results)

        await wait_until(answered, message=f"the result of {step_type}")
        return next(result for result in self.results if result.execution_id == request.execution_id)


@pytest.fixture
def slack_api() -> Iterator[HttpDouble]:
    with http_double(posted) as double:
        yield double


async def serve_executor(settings: FlowbusSettings, slack_url: str) -> AsyncIterator[ExecutorHttp]:
    def executor(context: Context) -> Service:
        return ExecutorService(context, ExecutorSettings(executor_http_port=0, slack_api_url=slack_url))

    runtime = Runtime(settings, [executor], name="executor-http-test")
    context = await runtime.start()
    try:
        service = runtime.services[0]
        assert isinstance(service, ExecutorService)
        assert service.server is not None
        suffix = uuid.uuid4().hex[:8]
        tenants = {name: f"{name}-{suffix}" for name in ("acme", "globex")}
        keys = ApiKeys(context.store.engine)
        tokens = {
            f"{name}/{role}": (await keys.create(tenant, role)).token
            for name, tenant in tenants.items()
            for role in ROLES
        }
        rig = ExecutorHttp(f"http://127.0.0.1:{service.server.port}", context, tenants, tokens)

        async def collect(result: StepResult, _delivery: Delivery) -> None:
            rig.results.append(result)

        context.bus.subscribe(STEP_RESULTS, group="orchestrator", handler=collect)
        yield rig
    finally:
        await runtime.stop()


@pytest.fixture
async def executor_http(
    memory_settings: FlowbusSettings, database_url: str, slack_api: HttpDouble
) -> AsyncIterator[ExecutorHttp]:
    settings = memory_settings.model_copy(
        update={"database_url": database_url, "master_keys": SecretStr(TEST_MASTER_KEYS)}
    )
    async for rig in serve_executor(settings, slack_api.url):
        yield rig
