"""The `flowbus` command run as a user runs it (a subprocess of `.venv/bin/flowbus`) against a
real orchestrator serving its HTTP API on a free loopback port, with test step workers."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from flowbus_shared.auth import ApiKeys, Role
from flowbus_shared.settings import FlowbusSettings
from tests.support.system import System, TestSteps, running_system
from tests.support.waiting import wait_until

FLOWBUS = str(Path(sys.executable).with_name("flowbus"))


@pytest.fixture(autouse=True)
def _orchestrator_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWBUS_ORCHESTRATOR_HTTP_ENABLED", "true")
    monkeypatch.setenv("FLOWBUS_ORCHESTRATOR_HTTP_PORT", "0")
    monkeypatch.delenv("FLOWBUS_LLM_GATEWAY_URL", raising=False)


@pytest.fixture
def sqlite_settings(memory_settings: FlowbusSettings, tmp_path: Path) -> FlowbusSettings:
    return memory_settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'flowbus.db'}"}
    )


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


async def run_flowbus(args: list[str], env: dict[str, str], stdin: str = "", within: float = 120) -> Ran:
    """The command in a process of its own; awaited, so the in-process orchestrator keeps serving."""
    process = await asyncio.create_subprocess_exec(
        FLOWBUS,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin.encode()), within)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


@dataclass
class Cli:
    system: System
    url: str
    tenant: str
    tokens: dict[str, str]  # role -> bearer token of the tenant
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, who: str = "admin", **overrides: str) -> dict[str, str]:
        base = {
            "PATH": "/usr/bin:/bin",
            "COLUMNS": "200",  # wide tables, so text assertions do not depend on wrapping
            "FLOWBUS_API_URL": self.url,
            "FLOWBUS_API_KEY": self.tokens[who],
            **self.extra_env,
        }
        return {**base, **overrides}

    async def __call__(self, *args: str, who: str = "admin", stdin: str = "", **env: str) -> Ran:
        return await run_flowbus(list(args), self.env(who, **env), stdin)

    async def wait_status(self, execution_id: str, *statuses: str) -> dict[str, Any]:
        async def reached() -> bool:
            shown = await self("executions", "show", execution_id, "-o", "json", who="viewer")
            return shown.code == 0 and shown.json()["status"] in statuses

        await wait_until(reached, within=60, interval=0.2, message=f"{execution_id} to be {statuses}")
        return dict((await self("executions", "show", execution_id, "-o", "json", who="viewer")).json())


@asynccontextmanager
async def cli_system(
    settings: FlowbusSettings,
    steps: TestSteps,
    step_types: list[str],
    *,
    tenant: str,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[Cli]:
    async with running_system(settings, steps, step_types) as system:
        server = system.orchestrator.server
        assert server is not None, "the orchestrator serves no HTTP API"
        keys = ApiKeys(system.context.store.engine)
        roles: tuple[Role, ...] = ("admin", "operator", "viewer")
        tokens: dict[str, str] = {
            role: (await keys.create(tenant, role, f"cli {role}")).token for role in roles
        }
        yield Cli(system, f"http://127.0.0.1:{server.port}", tenant, tokens, dict(extra_env or {}))
