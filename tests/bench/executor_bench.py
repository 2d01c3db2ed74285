"""Executor throughput through Kafka and PostgreSQL: steps/s and p99 (request published ->
result consumed) for a no-op step and for an api_call to a loopback HTTP server, with
1, 8 and 64 steps in flight."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from flowbus_executor.app import ExecutorService
from flowbus_executor.settings import ExecutorSettings
from flowbus_shared.bus import Delivery, KafkaBus, ensure_topics
from flowbus_shared.runtime import Context, Runtime, Service
from flowbus_shared.schemas import StepRequest, StepResult
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import STEP_RESULTS, STEPS_EXECUTOR
from tests.bench.stats import percentile
from tests.support.http_double import Recorded, http_double


async def run(
    settings: FlowbusSettings,
    *,
    in_flight: int,
    step_type: str,
    config: dict[str, Any],
    steps: int,
    executor_settings: ExecutorSettings,
) -> dict[str, float]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(
        update={"topic_prefix": prefix, "consumer_group_prefix": prefix, "max_in_flight": in_flight}
    )
    await ensure_topics(settings)

    def executor(context: Context) -> Service:
        return ExecutorService(context, executor_settings, extra_handlers={"noop": _noop})

    sent: dict[str, float] = {}
    done: dict[str, float] = {}
    finished = asyncio.Event()

    async def collect(result: StepResult, _delivery: Delivery) -> None:
        done[result.execution_id] = time.perf_counter()
        if result.status != "succeeded":
            raise SystemExit(f"benchmark step failed: {result.error}")
        if len(done) >= steps:
            finished.set()

    observer = KafkaBus(settings, client_name="bench-results")
    observer.subscribe(STEP_RESULTS, group="bench-results", handler=collect)
    runtime = Runtime(settings, [executor], name="bench-executor")
    context = await runtime.start()
    await observer.start()
    try:
        requests = [
            StepRequest(
                execution_id=uuid.uuid4().hex,
                workflow_id="bench",
                step_id="s",
                step_type=step_type,
                config=config,
            )
            for _ in range(steps)
        ]
        began = time.perf_counter()
        for request in requests:
            sent[request.execution_id] = time.perf_counter()
            await context.bus.publish(STEPS_EXECUTOR, request)
        await asyncio.wait_for(finished.wait(), timeout=600)
        elapsed = time.perf_counter() - began
        latencies = [done[key] - sent[key] for key in sent]
        return {"steps_per_s": steps / elapsed, "p99": percentile(latencies, 0.99)}
    finally:
        await observer.stop()
        await runtime.stop()


async def _noop(_request: StepRequest) -> dict[str, Any]:
    return {}


async def executor_figures(
    settings: FlowbusSettings, database_url: str
) -> list[tuple[str, int, dict[str, float]]]:
    settings = settings.model_copy(update={"database_url": database_url})
    figures = []

    def respond(_recorded: Recorded) -> tuple[int, Any]:
        return 200, {"ok": True}

    with http_double(respond) as server:
        executor_settings = ExecutorSettings(
            api_call_allowed_hosts=["127.0.0.1"], executor_http_enabled=False
        )
        for in_flight in (1, 8, 64):
            noop = await run(
                settings,
                in_flight=in_flight,
                step_type="noop",
                config={},
                steps=1000,
                executor_settings=executor_settings,
            )
            figures.append(("no-op step", in_flight, noop))
            call = await run(
                settings,
                in_flight=in_flight,
                step_type="api_call",
                config={"method": "GET", "url": f"{server.url}/ping"},
                steps=1000,
                executor_settings=executor_settings,
            )
            figures.append(("api_call to a loopback HTTP server", in_flight, call))
    return figures
