"""Workloads 1-4 on Temporal: linear and fan-out (saturation, then latency at half of it), timers, approval.
The load client is this process (a temporalio Client); the meter covers the dev server and the worker."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bench_workflows import ApprovalWorkflow, FanoutWorkflow, LinearWorkflow, TimerWorkflow
from common import (
    FAN_OUT,
    LINEAR_STEPS,
    SATURATION_CONCURRENCY,
    TIMER_SECONDS,
    ProcessMeter,
    Sizes,
    WorkloadResult,
    closed_loop,
    latency_curve,
    latency_summary,
)
from stack import TemporalStack
from temporalio.client import Client, WorkflowHandle

# Starting thousands of executions at once only queues them in the client; this many in flight keeps the
# start rate at what the server accepts.
START_CONCURRENCY = 64
SQLITE_NOTE = "db_commits_per_step: n/a, the Temporal dev server stores in SQLite (no pg_stat_database)"


def new_id(workload: str) -> str:
    return f"{workload}-{uuid.uuid4().hex[:12]}"


async def _saturation_then_latency(
    workload: str,
    stack: TemporalStack,
    version: str,
    sizes: Sizes,
    run_one: Callable[[], Awaitable[Any]],
    steps_per_execution: int,
) -> WorkloadResult:
    completed = 0

    async def counted() -> None:
        nonlocal completed
        await run_one()
        completed += 1

    meter = ProcessMeter(stack.pids())
    client_meter = ProcessMeter({"load-client": os.getpid()})
    completed_at_measure_start = 0

    def begin_measuring() -> None:
        nonlocal completed_at_measure_start
        completed_at_measure_start = completed
        meter.start()
        client_meter.start()

    loop = asyncio.get_running_loop()
    loop.call_later(sizes.warmup, begin_measuring)
    executions_per_s = await closed_loop(counted, SATURATION_CONCURRENCY, sizes)
    measured_steps = (completed - completed_at_measure_start) * steps_per_execution
    processes = meter.stop(measured_steps)
    load_client = client_meter.stop(measured_steps)["load-client"]
    latencies, curve = await latency_curve(run_one, max(executions_per_s, 1.0), sizes)
    summary = latency_summary(latencies)
    metrics: dict[str, Any] = {
        "curve": curve,
        "saturation_executions_per_s": executions_per_s,
        "saturation_steps_per_s": executions_per_s * steps_per_execution,
        "open_loop_rate_per_s": executions_per_s / 2,
        "p50_ms": summary["p50_ms"],
        "p99_ms": summary["p99_ms"],
        "latency_samples": summary["count"],
        "load_client_cpu_s_per_1000_steps": load_client["cpu_s_per_1000_steps"],
    }
    notes = (
        f"{SQLITE_NOTE}; processes metered: the dev server and the one Python worker process "
        "(the load client, the runner's own process, is not among them: its CPU is in the metrics)"
    )
    return WorkloadResult("temporal", version, workload, metrics, processes, None, notes)


async def linear(client: Client, stack: TemporalStack, version: str, sizes: Sizes) -> WorkloadResult:
    async def run_one() -> int:
        return await client.execute_workflow(
            LinearWorkflow.run, LINEAR_STEPS, id=new_id("linear"), task_queue=stack.task_queue
        )

    return await _saturation_then_latency("linear", stack, version, sizes, run_one, LINEAR_STEPS)


async def fanout(client: Client, stack: TemporalStack, version: str, sizes: Sizes) -> WorkloadResult:
    async def run_one() -> int:
        return await client.execute_workflow(
            FanoutWorkflow.run, FAN_OUT, id=new_id("fanout"), task_queue=stack.task_queue
        )

    return await _saturation_then_latency("fanout", stack, version, sizes, run_one, FAN_OUT + 2)


async def timers(client: Client, stack: TemporalStack, version: str, sizes: Sizes) -> WorkloadResult:
    limit = asyncio.Semaphore(START_CONCURRENCY)

    async def start_one() -> tuple[WorkflowHandle[Any, float], float]:
        async with limit:
            handle = await client.start_workflow(
                TimerWorkflow.run, TIMER_SECONDS, id=new_id("timer"), task_queue=stack.task_queue
            )
            return handle, time.time()  # start acknowledged (same wall clock as the worker's)

    began = time.perf_counter()
    started = await asyncio.gather(*(start_one() for _ in range(sizes.timers)))
    start_seconds = time.perf_counter() - began
    ran_at = await asyncio.gather(*(handle.result() for handle, _ in started))
    lateness = [ran - (acked + TIMER_SECONDS) for ran, (_, acked) in zip(ran_at, started, strict=True)]
    summary = latency_summary(lateness)
    metrics = {
        "executions": sizes.timers,
        "timer_seconds": TIMER_SECONDS,
        "start_seconds": start_seconds,
        "lateness_p50_ms": summary["p50_ms"],
        "lateness_p99_ms": summary["p99_ms"],
        "lateness_max_ms": max(lateness) * 1000,
    }
    notes = (
        "durable timer = workflow.sleep; lateness = wall time the step after the timer ran (in the worker) "
        f"- (start acknowledged to the client + {TIMER_SECONDS} s); starts {START_CONCURRENCY} at a time"
    )
    return WorkloadResult("temporal", version, "timers", metrics, {}, None, notes)


async def _until_waiting(handle: WorkflowHandle[Any, Any]) -> None:
    """The execution has run up to its wait_condition (a query is answered by the worker from that state)."""
    async with asyncio.timeout(60):
        while True:
            if await handle.query(ApprovalWorkflow.waiting):
                return
            await asyncio.sleep(0.01)  # retry pacing


async def approval(client: Client, stack: TemporalStack, version: str, sizes: Sizes) -> WorkloadResult:
    limit = asyncio.Semaphore(START_CONCURRENCY)

    async def start_one() -> WorkflowHandle[Any, Any]:
        async with limit:
            return await client.start_workflow(
                ApprovalWorkflow.run, id=new_id("approval"), task_queue=stack.task_queue
            )

    handles = await asyncio.gather(*(start_one() for _ in range(sizes.approvals)))
    resume: list[float] = []
    for handle in handles:  # one event at a time: latency, not load
        await _until_waiting(handle)
        t0 = time.perf_counter()
        await handle.signal(ApprovalWorkflow.approve)
        await handle.result()
        resume.append(time.perf_counter() - t0)
    summary = latency_summary(resume)
    metrics = {
        "executions": sizes.approvals,
        "event_to_resume_p50_ms": summary["p50_ms"],
        "event_to_resume_p99_ms": summary["p99_ms"],
    }
    notes = (
        "event = a signal (approve), awaited in the workflow with workflow.wait_condition; t0 = before the "
        "signal RPC, end = the result (after one no-op activity) observed by the client"
    )
    return WorkloadResult("temporal", version, "approval", metrics, {}, None, notes)
