"""flowbus as a user runs it, for the benchmark: a fresh PostgreSQL database and fresh topics
prepared with the CLI (tests/support/e2e_system.py), then `flowbus serve orchestrator` and
`flowbus serve executor` as OS processes (the llm-gateway and governance are not started: no
workload uses them). Executions are started and steered by hand-written JSON commands on
`<prefix>.commands` from a plain Kafka producer, and observed on `<prefix>.execution-events`.

Each service joins its consumer groups with static membership (`FLOWBUS_KAFKA_INSTANCE_ID`, as the
Kubernetes deployment sets it), so a process restarted after SIGKILL takes its partitions back at
once instead of waiting for the broker to time the dead member out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from flowbus_shared.settings import FlowbusSettings
from tests.bench.peers.common import WORK, pg_commits, pg_wal_syncs
from tests.bench.peers.flowbus.doubles import StepCounter, step_counter
from tests.support.e2e_doubles import remote_doubles
from tests.support.e2e_kafka import PlainProducer
from tests.support.e2e_system import TENANT, E2EProcess, E2ESystem
from tests.support.e2e_workflows import api, register
from tests.support.http_double import http_double
from tests.support.infra import create_pg_database, drop_pg_database, require_kafka

DEFAULT_POOL_SIZE = FlowbusSettings.model_fields["database_pool_size"].default  # as shipped

SERVICES = ("orchestrator", "executor")
TERMINAL = (b'"execution.completed"', b'"execution.failed"', b'"execution.cancelled"')
APPROVAL = b'"approval.requested"'


class Watcher:
    """Reads `execution-events` (every partition, no group) and wakes whoever waits for an
    execution to finish or to ask for approval. Only those records are decoded: the topic carries
    every event of every execution, and the client shares the machine with the system."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
        )
        self.finished: dict[str, tuple[str, float]] = {}  # id -> (status, perf_counter when read)
        self.asked: dict[str, float] = {}  # id -> when its approval request was read
        self._waiting: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        deadline = time.monotonic() + 30
        while not self._consumer.assignment():
            await self._consumer.getmany(timeout_ms=100)
            if time.monotonic() > deadline:
                raise RuntimeError("could not read the execution-events topic")
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100, max_records=5000)
            now = time.perf_counter()
            for batch in batches.values():
                for record in batch:
                    raw = record.value or b""
                    if APPROVAL in raw or any(marker in raw for marker in TERMINAL):
                        self._seen(json.loads(raw), now)

    def _seen(self, value: dict[str, Any], now: float) -> None:
        execution_id, kind = str(value["execution_id"]), str(value["event_type"])
        if kind == "approval.requested":
            self.asked.setdefault(execution_id, now)
            self._wake(execution_id, "asked")
        elif kind.startswith("execution."):
            self.finished.setdefault(execution_id, (kind.split(".")[1], now))
            self._wake(execution_id, "finished")

    def _wake(self, execution_id: str, what: str) -> None:
        future = self._waiting.pop((execution_id, what), None)
        if future is not None and not future.done():
            future.set_result(None)

    async def _until(self, execution_id: str, what: str, seen: dict[str, Any], within: float) -> None:
        if execution_id in seen:
            return
        future = self._waiting.setdefault((execution_id, what), asyncio.get_running_loop().create_future())
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout=within)
        except TimeoutError:
            raise RuntimeError(f"execution {execution_id} not {what} within {within} s") from None

    async def finish(self, execution_id: str, within: float = 300.0) -> str:
        """Until the execution ends; its status (completed, failed, cancelled)."""
        await self._until(execution_id, "finished", self.finished, within)
        return self.finished[execution_id][0]

    async def approval_asked(self, execution_id: str, within: float = 60.0) -> None:
        await self._until(execution_id, "asked", self.asked, within)


@dataclass
class BenchSystem:
    e2e: E2ESystem
    producer: PlainProducer
    watcher: Watcher
    counter: StepCounter
    counter_url: str
    dsn: str  # libpq form of the system's database, for pg_commits
    version: str = ""
    registered: dict[str, int] = field(default_factory=dict)

    @property
    def pids(self) -> dict[str, int]:
        pids = {}
        for service in SERVICES:
            process = self.e2e.one(service).process
            assert process is not None
            pids[service] = process.pid
        return pids

    def commits(self) -> int:
        return pg_commits(self.dsn)

    def wal_syncs(self) -> int:
        return pg_wal_syncs(self.dsn)

    async def register(self, definition: dict[str, Any]) -> None:
        self.registered[definition["id"]] = await register(self.e2e, definition)

    async def command(self, body: dict[str, Any]) -> None:
        """A command as any Kafka client writes it, keyed by the execution it is about."""
        message = {"message_id": uuid.uuid4().hex, **body}
        await self.producer.send(self.e2e.topic("commands"), message, key=str(body["execution_id"]))

    async def start(self, workflow_id: str, payload: dict[str, Any] | None = None) -> str:
        """Publish `command.start` for a new execution (acknowledged by the broker); its id."""
        execution_id = uuid.uuid4().hex
        await self.command(
            {
                "type": "command.start",
                "message_id": f"start:{execution_id}",
                "execution_id": execution_id,
                "workflow_id": workflow_id,
                "tenant_id": TENANT,
                "input": payload or {},
            }
        )
        return execution_id

    async def run(self, workflow_id: str, within: float = 300.0) -> str:
        """Start one execution and wait for its end; its id. A failed one is an error."""
        execution_id = await self.start(workflow_id)
        status = await self.watcher.finish(execution_id, within)
        if status != "completed":
            raise RuntimeError(f"{workflow_id} execution {execution_id} {status}")
        return execution_id

    async def approve(self, execution_id: str, step_id: str) -> None:
        await self.command(
            {
                "type": "command.approve",
                "execution_id": execution_id,
                "step_id": step_id,
                "approved_by": "bench",
            }
        )

    async def fork(self, source_id: str, step_id: str) -> str:
        execution_id = uuid.uuid4().hex
        await self.command(
            {
                "type": "command.fork",
                "execution_id": execution_id,
                "source_execution_id": source_id,
                "step_id": step_id,
            }
        )
        return execution_id

    async def execution(self, client: httpx.AsyncClient, execution_id: str) -> dict[str, Any]:
        """GET /v1/executions/{id}: the execution folded from its log, with each step's output."""
        answer = await client.get(f"/v1/executions/{execution_id}")
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body

    def api(self) -> httpx.AsyncClient:
        return api(self.e2e)

    async def kill(self) -> None:
        """SIGKILL the orchestrator and the executor, both at once."""
        await asyncio.gather(*(self.e2e.one(service).kill() for service in SERVICES))

    async def restart(self) -> None:
        await self.e2e.start(*SERVICES)


async def _version(system: E2ESystem) -> str:
    async with httpx.AsyncClient(base_url=system.url("orchestrator"), timeout=10) as client:
        answer = await client.get("/version")
    answer.raise_for_status()
    about: dict[str, Any] = answer.json()
    return str(about.get("version") or about.get("flowbus") or about)


@contextlib.asynccontextmanager
async def bench_system(pool_size: int = DEFAULT_POOL_SIZE) -> AsyncIterator[BenchSystem]:
    """Everything started for the run, and stopped again (also on failure): the database is
    dropped and the topics deleted; Kafka and PostgreSQL themselves are left running."""
    bootstrap = require_kafka()
    name, url = await create_pg_database()
    workdir = WORK / "flowbus" / time.strftime("%Y%m%d-%H%M%S")
    workdir.mkdir(parents=True, exist_ok=True)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(drop_pg_database, name)
        doubles = stack.enter_context(remote_doubles())
        llm = stack.enter_context(http_double(lambda _r: (404, {"error": "no model in this bench"})))
        counter_double, counter = stack.enter_context(step_counter())
        e2e = E2ESystem(
            workdir=workdir,
            prefix=f"benchfb{uuid.uuid4().hex[:8]}",
            database_url=url,
            bootstrap=bootstrap,
            doubles=doubles,
            llm=llm,
            pool_size=pool_size,
        )
        stack.push_async_callback(e2e.shutdown)
        await e2e.prepare()
        for service in SERVICES:
            log = workdir / f"{service}.log"
            env = {
                **e2e.env,
                "FLOWBUS_KAFKA_INSTANCE_ID": f"bench-{service}",
                "FLOWBUS_API_RATE_LIMIT_PER_SECOND": "0",  # the fork check reads executions back
            }
            e2e.processes[service] = [E2EProcess(service, env, log)]
        await e2e.start(*SERVICES)
        producer = PlainProducer(bootstrap)
        await producer.start()
        stack.push_async_callback(producer.stop)
        watcher = Watcher(bootstrap, e2e.topic("execution-events"))
        await watcher.start()
        stack.push_async_callback(watcher.stop)
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        system = BenchSystem(e2e, producer, watcher, counter, counter_double.url, dsn)
        system.version = await _version(e2e)
        yield system
