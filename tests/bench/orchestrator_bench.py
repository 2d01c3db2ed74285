"""The orchestrator's costs: CPU per decision (pure), and workflows through Kafka and
PostgreSQL with the real orchestrator process and a no-op executor."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flowbus_orchestrator.adapters.definitions import DefinitionRepository
from flowbus_orchestrator.domain.decide import decide
from flowbus_orchestrator.domain.state import ExecutionState, fold
from flowbus_orchestrator.domain.validation import parse_definition
from flowbus_shared.attempts import AttemptLog
from flowbus_shared.bus import Delivery, KafkaBus, ensure_topics
from flowbus_shared.runtime import Context, Runtime, Service
from flowbus_shared.schemas import ExecutionEventRecord, StartExecution, StepRequest, StepResult, new_id
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepWorker
from flowbus_shared.store import open_store
from flowbus_shared.topics import COMMANDS, EXECUTION_EVENTS, STEPS_EXECUTOR
from tests.bench.stats import percentile
from tests.support.processes import ServiceProcess, service_env


def chain(workflow_id: str, length: int) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": f"{length} no-op steps",
        "start_step_id": "s1",
        "steps": [
            {
                "id": f"s{n}",
                "type": "api_call",
                "config": {"n": n},
                "next_steps": [f"s{n + 1}"] if n < length else [],
            }
            for n in range(1, length + 1)
        ],
    }


def decision_cost(executions: int = 200, length: int = 10) -> dict[str, float]:
    """CPU microseconds per step decision: on the live state, and folding the log first."""
    definition = parse_definition(chain("cost", length))
    now = datetime.now(UTC)
    decide_only = 0.0
    with_fold = 0.0
    steps = 0
    for _ in range(executions):
        execution_id = new_id()
        decision = decide(
            ExecutionState(),
            StartExecution(execution_id=execution_id, workflow_id="cost"),
            now,
            definition=definition,
        )
        events = list(decision.events)
        state = decision.state
        for n in range(1, length + 1):
            result = StepResult(execution_id=execution_id, step_id=f"s{n}", attempt=1, status="succeeded")
            started = time.process_time()
            decision = decide(state, result, now)
            decide_only += time.process_time() - started
            started = time.process_time()
            folded = fold(events)
            decide(folded, result, now)
            with_fold += time.process_time() - started
            events += decision.events
            state = decision.state
            steps += 1
    return {"decide_us": decide_only / steps * 1e6, "fold_and_decide_us": with_fold / steps * 1e6}


async def _noop(_request: StepRequest) -> dict[str, Any]:
    return {}


async def through_kafka(
    settings: FlowbusSettings, database_url: str, *, burst: int, sequential: int
) -> dict[str, float]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(
        update={"topic_prefix": prefix, "consumer_group_prefix": prefix, "database_url": database_url}
    )
    await ensure_topics(settings)
    store = await open_store(database_url)
    await DefinitionRepository(store.engine).register(parse_definition(chain("noop3", 3)))

    def executor(context: Context) -> Service:
        return StepWorker(
            name="noop",
            bus=context.bus,
            queue=STEPS_EXECUTOR,
            group=context.settings.group("executor"),
            handlers={"api_call": _noop},
            attempts=AttemptLog(context.store.engine),
        )

    completed: dict[str, float] = {}

    async def observe(record: ExecutionEventRecord, _delivery: Delivery) -> None:
        if record.event_type == "execution.completed":
            completed[record.execution_id] = time.perf_counter()

    observer = KafkaBus(settings, client_name="bench-observer")
    observer.subscribe(EXECUTION_EVENTS, group="bench-observer", handler=observe)
    workers = Runtime(settings, [executor], name="bench-executor")
    log = Path(tempfile.mkdtemp()) / "orchestrator.log"
    orchestrator = ServiceProcess("orchestrator", service_env(settings), log)
    context = await workers.start()
    await observer.start()
    await orchestrator.start()
    try:
        await _wait_ready(orchestrator)
        started_at: dict[str, float] = {}

        async def start(execution_id: str) -> None:
            started_at[execution_id] = time.perf_counter()
            await context.bus.publish(
                COMMANDS, StartExecution(execution_id=execution_id, workflow_id="noop3")
            )

        for _ in range(20):  # warm-up
            await start(new_id())
        await _until(lambda: len(completed) >= 20)
        latency_ids = [new_id() for _ in range(sequential)]
        for execution_id in latency_ids:
            await start(execution_id)
            await _until(lambda e=execution_id: e in completed)
        burst_ids = [new_id() for _ in range(burst)]
        began = time.perf_counter()
        await asyncio.gather(*(start(e) for e in burst_ids))
        await _until(lambda: all(e in completed for e in burst_ids), within=600)
        elapsed = time.perf_counter() - began
        hops = await _step_hops(store, latency_ids)
        totals = [completed[e] - started_at[e] for e in latency_ids]
        return {
            "workflows_per_s": burst / elapsed,
            "steps_per_s": burst * 3 / elapsed,
            "workflow_p50": percentile(totals, 0.5),
            "workflow_p99": percentile(totals, 0.99),
            "hop_p50": percentile(hops, 0.5),
            "hop_p99": percentile(hops, 0.99),
        }
    finally:
        await orchestrator.stop()
        await observer.stop()
        await workers.stop()
        await store.close()


async def _step_hops(store: Any, execution_ids: list[str]) -> list[float]:
    """Seconds from one step being scheduled to the next one being scheduled (a full hop:
    request out, executor, result back, decision)."""
    hops: list[float] = []
    for execution_id in execution_ids:
        times = [e.recorded_at for e in await store.read(execution_id) if e.event_type == "step.scheduled"]
        hops += [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    return hops


async def _wait_ready(process: ServiceProcess) -> None:
    await process.wait_started()


async def _until(condition: Any, within: float = 60.0) -> None:
    deadline = time.perf_counter() + within
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("benchmark did not finish in time")
        await asyncio.sleep(0.002)
