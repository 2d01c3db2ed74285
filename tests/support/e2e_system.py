"""The whole flowbus as a user runs it: the CLI prepares the database, the topics, API keys,
connections and the LLM provider key (`flowbus db upgrade`, `flowbus topics create`, `flowbus
apikeys create`, ...), then the four services run as separate OS processes (`flowbus serve NAME`,
what `make up` starts), configured only through FLOWBUS_* variables that point every remote
service at a loopback double. Services can be stopped (SIGTERM), killed (SIGKILL) and started
again; several executors can share the consumer group."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.store import SqlEventStore, open_store
from tests.support.e2e_doubles import Doubles, free_port
from tests.support.executor_deps import TEST_MASTER_KEYS
from tests.support.http_double import HttpDouble
from tests.support.processes import FLOWBUS, ServiceProcess, service_env

SERVICES = ("orchestrator", "executor", "governance", "llm-gateway")
TENANT = "acme"


class E2EProcess(ServiceProcess):
    """A service process whose log is shared by its restarts: it waits only for what this start wrote."""

    def __init__(self, service: str, env: dict[str, str], log: Path) -> None:
        super().__init__(service, env, log)
        self._log_from = 0

    async def start(self) -> None:
        self._log_from = self.log.stat().st_size if self.log.exists() else 0
        await super().start()

    def output(self) -> str:
        with self.log.open("rb") as handle:
            handle.seek(self._log_from)
            return handle.read().decode(errors="replace")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def wait_started(self, within: float = 90.0) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while "started:" not in self.output():
            if not self.running:
                raise AssertionError(f"{self.service} exited early:\n{self.output()[-3000:]}")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self.service} did not start:\n{self.output()[-3000:]}")
            await asyncio.sleep(0.05)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self) -> int:
        """SIGTERM and wait: the service's own shutdown (bounded by 30 s)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), timeout=30)


@dataclass
class E2ESystem:
    workdir: Path
    prefix: str
    database_url: str
    bootstrap: str
    doubles: Doubles
    llm: HttpDouble
    partitions: int = 6
    pool_size: int = 5
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, list[E2EProcess]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    store: SqlEventStore | None = None
    # Per process kind ("orchestrator", ..., "cli"): extra variables, e.g. where to export traces.
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def settings(self) -> FlowbusSettings:
        return FlowbusSettings(
            bus="kafka",
            kafka_bootstrap_servers=self.bootstrap,
            topic_prefix=self.prefix,
            consumer_group_prefix=self.prefix,
            topic_partitions=self.partitions,
            database_url=self.database_url,
        )

    def topic(self, suffix: str) -> str:
        return f"{self.prefix}.{suffix}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    # -- preparing, as an operator does with the CLI -------------------------------------------

    def base_env(self) -> dict[str, str]:
        self.ports = {name: free_port() for name in ("llm-gateway", "governance", "orchestrator")}
        return service_env(
            self.settings,
            FLOWBUS_MASTER_KEYS=TEST_MASTER_KEYS,
            FLOWBUS_DATABASE_POOL_SIZE=str(self.pool_size),
            FLOWBUS_LLM_HTTP_PORT=str(self.ports["llm-gateway"]),
            FLOWBUS_GOVERNANCE_HTTP_PORT=str(self.ports["governance"]),
            FLOWBUS_ORCHESTRATOR_HTTP_PORT=str(self.ports["orchestrator"]),
            FLOWBUS_EXECUTOR_HTTP_PORT="0",  # any free port: several executors may run
            FLOWBUS_GOVERNANCE_SWEEP_INTERVAL_SECONDS="0.5",
            FLOWBUS_SLACK_API_URL=self.doubles.slack.url,
            FLOWBUS_ASANA_API_URL=self.doubles.asana.url,
            FLOWBUS_NOTION_API_URL=self.doubles.catch_all.url,
            FLOWBUS_GMAIL_API_URL=self.doubles.catch_all.url,
            FLOWBUS_HUBSPOT_API_URL=self.doubles.catch_all.url,
            FLOWBUS_API_CALL_ALLOWED_HOSTS='["127.0.0.1"]',
            FLOWBUS_HTTP_TIMEOUT_SECONDS="10",
        )

    async def cli(self, *args: str, stdin: str = "") -> str:
        """`flowbus ARGS...` with the services' environment; its standard output."""
        process = await asyncio.create_subprocess_exec(
            str(FLOWBUS),
            *args,
            env=self.env | self.extra_env.get("cli", {}),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=120)
        assert process.returncode == 0, f"flowbus {' '.join(args[:3])}: {err.decode()[-2000:]}"
        return out.decode()

    async def prepare(self) -> None:
        self.env = self.base_env()
        await self.cli("db", "upgrade")
        await self.cli("topics", "create")
        service_key, user_key = await asyncio.gather(
            self.cli("apikeys", "create", "--tenant", TENANT, "--role", "service", "--name", "e2e services"),
            self.cli("apikeys", "create", "--tenant", TENANT, "--role", "admin", "--name", "e2e user"),
        )
        self.tokens = {"service": service_key.strip(), "user": user_key.strip()}
        self.env |= {
            "FLOWBUS_LLM_GATEWAY_URL": f"{self.url('llm-gateway')}/v1",
            "FLOWBUS_LLM_GATEWAY_API_KEY": self.tokens["service"],
            "FLOWBUS_GOVERNANCE_URL": self.url("governance"),
            "FLOWBUS_GOVERNANCE_API_KEY": self.tokens["service"],
        }
        puts = [
            self.cli(
                "connections",
                "put",
                name,
                "--service",
                service,
                "--tenant",
                TENANT,
                stdin=json.dumps(secrets),
            )
            for name, (service, secrets) in self.doubles.connections().items()
        ]
        key = self.cli(
            "llm",
            "keys",
            "put",
            "openai",
            "--tenant",
            TENANT,
            "--base-url",
            f"{self.llm.url}/v1",
            stdin="sk-e2e-double",
        )
        await asyncio.gather(*puts, key)
        self.store = await open_store(self.database_url)

    # -- the service processes ----------------------------------------------------------------

    def _new_process(self, service: str) -> E2EProcess:
        index = len(self.processes.setdefault(service, []))
        log = self.workdir / f"{service}-{index}.log"
        process = E2EProcess(service, self.env | self.extra_env.get(service, {}), log)
        self.processes[service].append(process)
        return process

    def one(self, service: str) -> E2EProcess:
        return self.processes[service][0]

    async def start_all(self) -> None:
        for service in SERVICES:
            if service not in self.processes:
                self._new_process(service)
        await self.start(*SERVICES)

    async def start(self, *services: str) -> None:
        chosen = [p for name in services for p in self.processes[name] if not p.running]
        for process in chosen:
            await process.start()
        await asyncio.gather(*(process.wait_started() for process in chosen))

    async def add_executor(self) -> E2EProcess:
        process = self._new_process("executor")
        await process.start()
        await process.wait_started()
        return process

    async def stop(self, *services: str) -> None:
        """SIGTERM, all at once, and wait for each to exit."""
        chosen = [p for name in services for p in self.processes.get(name, []) if p.running]
        codes = await asyncio.gather(*(process.terminate() for process in chosen))
        for process, code in zip(chosen, codes, strict=True):
            assert code == 0, f"{process.service} exited with {code}:\n{process.output()[-3000:]}"

    async def shutdown(self) -> None:
        for processes in self.processes.values():
            for process in processes:
                await process.stop()
        if self.store is not None:
            await self.store.close()
        with contextlib.suppress(KafkaError):  # a broker gone already has nothing to clean
            await self.delete_topics()

    async def delete_topics(self) -> None:
        """The broker is shared by every suite: leave no partitions behind."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            mine = [name for name in await admin.list_topics() if name.startswith(f"{self.prefix}.")]
            if mine:
                await admin.delete_topics(mine)
        finally:
            await admin.close()

    def logs(self) -> dict[str, str]:
        return {p.log.name: p.log.read_text(errors="replace") for ps in self.processes.values() for p in ps}

    def errors_logged(self) -> list[str]:
        """Lines of every service log at ERROR or worse, or with a traceback."""
        return [
            f"{name}: {line}"
            for name, text in self.logs().items()
            for line in text.splitlines()
            if " ERROR " in line or " CRITICAL " in line or line.startswith(("Traceback", "ERROR:"))
        ]

    # -- reading what happened ----------------------------------------------------------------

    async def events(self, execution_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The execution's event log as stored (its single source of truth)."""
        assert self.store is not None
        return [(e.event_type, e.data) for e in await self.store.read(execution_id)]
