"""The agent steps' rig: the real governance HTTP API on loopback over the test database, a
scripted OpenAI-compatible double for the llm-gateway (it also answers api_call's hook), and
executor deps pointing at both."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.agents import handlers
from flowbus_governance.adapters.agents import AgentRepository
from flowbus_governance.adapters.approvals import ApprovalStore
from flowbus_governance.adapters.audit import AuditLog
from flowbus_governance.app import create_api
from flowbus_governance.domain.policy import default_policy
from flowbus_governance.governance import Governance
from flowbus_governance.notifier import ApprovalNotifier
from flowbus_shared.auth import ApiKeys
from flowbus_shared.bus import MemoryBus
from flowbus_shared.http.server import HttpServer
from flowbus_shared.http.service_app import build_service_api
from flowbus_shared.schemas import StepRequest, StepResult
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepHandler, run_step
from flowbus_shared.store import open_store
from tests.support.executor_deps import TENANT, executor_deps
from tests.support.http_double import HttpDouble, Recorded, http_double

CHAT_PATH = "/v1/chat/completions"


def tool_call(
    name: str, arguments: dict[str, Any], *, call_id: str = "call_1", cost: float = 0.001
) -> dict[str, Any]:
    """A chat.completion asking for one tool call, with the gateway's cost."""
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
        ],
    }
    return _completion(message, "tool_calls", cost)


def final(text: str, *, cost: float = 0.001) -> dict[str, Any]:
    return _completion({"role": "assistant", "content": text}, "stop", cost)


def _completion(message: dict[str, Any], finish: str, cost: float) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
        "flowbus": {"cost_usd": cost},
    }


@dataclass
class Model:
    """The scripted model: answers in order (the last one again when the script runs out)."""

    answers: list[dict[str, Any]] = field(default_factory=list)
    double: HttpDouble | None = None

    def respond(self, recorded: Recorded) -> tuple[int, Any]:
        if recorded.path != CHAT_PATH:
            return 200, {"received": recorded.body}  # api_call's target
        index = len(self.chats()) - 1
        return 200, self.answers[min(index, len(self.answers) - 1)]

    def chats(self) -> list[Recorded]:
        assert self.double is not None
        return [r for r in self.double.requests if r.path == CHAT_PATH]

    def hooks(self) -> list[Recorded]:
        assert self.double is not None
        return [r for r in self.double.requests if r.path != CHAT_PATH]


@dataclass
class Rig:
    deps: ExecutorDeps
    model: Model
    governance: Governance
    url: str
    admin_token: str
    handlers: dict[str, StepHandler]

    async def agent(self, agent_id: str, status: str = "student") -> None:
        await self.governance.agents.register(TENANT, agent_id, name=agent_id, status=status)

    async def confidence(self, agent_id: str) -> float:
        agent = await self.governance.agents.get(TENANT, agent_id)
        assert agent is not None
        return agent.confidence

    async def run(self, request: StepRequest) -> StepResult:
        return await run_step(self.handlers, request, executed_by="test")

    def admin(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"authorization": f"Bearer {self.admin_token}"})


@asynccontextmanager
async def agents_rig(database_url: str, model: Model, **settings: Any) -> AsyncIterator[Rig]:
    store = await open_store(database_url)
    audit = AuditLog(store.engine)
    approvals = ApprovalStore(store.engine, audit)
    governance = Governance(
        AgentRepository(store.engine, audit), approvals, audit, default_policy(), approval_ttl_seconds=3600
    )
    notifier = ApprovalNotifier(MemoryBus(FlowbusSettings(bus="memory")), approvals)
    keys = ApiKeys(store.engine)
    service_key = (await keys.create(TENANT, "service")).token
    admin_key = (await keys.create(TENANT, "admin")).token
    server = HttpServer(
        create_api(
            build_service_api(store.engine, None, service="governance", description="test", keys=keys),
            governance,
            notifier,
        ),
        "127.0.0.1",
        0,
        name="governance",
    )
    await server.start()
    try:
        with http_double(model.respond) as double:
            model.double = double
            url = f"http://127.0.0.1:{server.port}"
            wired = {
                "llm_gateway_url": f"{double.url}/v1",
                "governance_url": url,
                "governance_api_key": service_key,
                "api_call_allowed_hosts": ["127.0.0.1"],
            }
            async with executor_deps(database_url, **{**wired, **settings}) as deps:
                yield Rig(deps, model, governance, url, admin_key, handlers(deps))
    finally:
        await server.stop()
        await store.close()


@pytest.fixture
def model() -> Model:
    return Model()


@pytest.fixture
async def rig(tmp_path: Path, model: Model) -> AsyncIterator[Rig]:
    async with agents_rig(f"sqlite+aiosqlite:///{tmp_path / 'flowbus.db'}", model) as built:
        yield built
