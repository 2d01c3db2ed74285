"""The six workloads (tests/bench/peers/common.py and the spec say what each measures) run on a
started BenchSystem. The load client (this process) is not metered: flowbus's processes are the
orchestrator and the executor, each its own OS process; the client and the counter double share
the machine's two cores with them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.bench.peers.common import (
    CRASH_STEP_SECONDS,
    FAN_OUT,
    FORK_AT_STEP,
    LINEAR_STEPS,
    SATURATION_CONCURRENCY,
    TIMER_SECONDS,
    ProcessMeter,
    Sizes,
    WorkloadResult,
    closed_loop,
    latency_curve,
    latency_summary,
    percentile,
)
from tests.bench.peers.flowbus.doubles import output_at
from tests.bench.peers.flowbus.system import BenchSystem
from tests.bench.peers.flowbus.workflows import step_id

ENGINE = "flowbus"
Workload = Callable[[BenchSystem, Sizes], Awaitable[WorkloadResult]]


def result(system: BenchSystem, workload: str, **fields: Any) -> WorkloadResult:
    return WorkloadResult(engine=ENGINE, version=system.version, workload=workload, **fields)


async def throughput(
    system: BenchSystem, sizes: Sizes, workload: str, workflow_id: str, steps: int
) -> WorkloadResult:
    """Saturation with SATURATION_CONCURRENCY closed-loop clients (metered), then an open loop at
    half that rate for latency."""
    completed = 0

    async def run_one() -> None:
        nonlocal completed
        await system.run(workflow_id)
        completed += 1

    for _ in range(3):  # the first executions load the definition and warm the connections
        await run_one()
    completed = 0
    meter = ProcessMeter(system.pids)
    commits_before, syncs_before = system.commits(), system.wal_syncs()
    meter.start()
    began = time.perf_counter()
    rate = await closed_loop(run_one, SATURATION_CONCURRENCY, sizes)
    whole_loop_rate = completed / (time.perf_counter() - began)
    saturated = completed
    processes = meter.stop(saturated * steps)
    window_note = ""
    if rate * sizes.measure < SATURATION_CONCURRENCY:
        # Fewer completions in the window than clients: one execution at this concurrency lasts
        # about as long as the window (--quick), so the window's count is mostly chance.
        rate = whole_loop_rate
        window_note = " The window held less than one round of the clients: rate over the whole loop."
    commits, syncs = system.commits() - commits_before, system.wal_syncs() - syncs_before
    steps_done = saturated * steps
    latencies, curve = await latency_curve(run_one, rate, sizes)
    return result(
        system,
        workload,
        metrics={
            "curve": curve,
            "saturation_executions_per_s": rate,
            "saturation_steps_per_s": rate * steps,
            "whole_loop_executions_per_s": whole_loop_rate,
            "open_loop_executions_per_s": rate / 2,
            **latency_summary(latencies),
        },
        processes=processes,
        db_commits_per_step=commits / max(steps_done, 1),
        db_wal_syncs_per_step=syncs / max(steps_done, 1),
        notes=(
            f"{steps} executor steps per execution (data_transformation); started by command.start on "
            f"Kafka, completion read from execution-events. CPU and commits over the whole closed loop "
            f"({saturated} executions, {steps_done} steps, warm-up included); client not metered."
            + window_note
        ),
    )


async def linear(system: BenchSystem, sizes: Sizes) -> WorkloadResult:
    return await throughput(system, sizes, "linear", "bench_linear", LINEAR_STEPS)


async def fanout(system: BenchSystem, sizes: Sizes) -> WorkloadResult:
    return await throughput(system, sizes, "fanout", "bench_fanout", FAN_OUT + 2)


async def finish_all(system: BenchSystem, ids: list[str], within: float = 600.0) -> dict[str, str]:
    statuses = await asyncio.gather(*(system.watcher.finish(i, within) for i in ids))
    return dict(zip(ids, statuses, strict=True))


async def timers(system: BenchSystem, sizes: Sizes) -> WorkloadResult:
    acknowledged: dict[str, float] = {}

    async def start_one() -> None:
        execution_id = await system.start("bench_timers")
        acknowledged[execution_id] = time.time()  # the broker acknowledged the start (acks=all)

    began = time.perf_counter()
    await asyncio.gather(*(start_one() for _ in range(sizes.timers)))
    start_seconds = time.perf_counter() - began
    statuses = await finish_all(system, list(acknowledged))
    failed = [i for i, status in statuses.items() if status != "completed"]
    if failed:
        raise RuntimeError(f"{len(failed)} timer executions did not complete, e.g. {failed[0]}")
    lateness = []
    for execution_id, acked in acknowledged.items():
        events = await system.e2e.events(execution_id)  # the log, as stored
        clock = next(d for kind, d in events if kind == "step.succeeded" and d["step_id"] == "clock")
        lateness.append(output_at(clock["output"]) - (acked + TIMER_SECONDS))
    return result(
        system,
        "timers",
        metrics={
            "executions": sizes.timers,
            "lateness_p50_ms": percentile(lateness, 0.5) * 1000,
            "lateness_p99_ms": percentile(lateness, 0.99) * 1000,
            "lateness_max_ms": max(lateness) * 1000,
            "start_seconds": start_seconds,
        },
        notes=(
            "delay step (a timer row in PostgreSQL, fired by the orchestrator's poller every 0.1 s) then an "
            "api_call to the loopback counter answering its wall clock; lateness = that time - (start "
            "acknowledged by Kafka + 1 s), so it includes the start command's own handling. All started "
            "at once (concurrent producer sends)."
        ),
    )


async def approval(system: BenchSystem, sizes: Sizes) -> WorkloadResult:
    latencies = []
    for _ in range(sizes.approvals):
        execution_id = await system.start("bench_approval")
        await system.watcher.approval_asked(execution_id)
        sent = time.perf_counter()
        await system.approve(execution_id, "approve")
        status = await system.watcher.finish(execution_id)
        if status != "completed":
            raise RuntimeError(f"approval execution {execution_id} {status}")
        latencies.append(system.watcher.finished[execution_id][1] - sent)
    summary = latency_summary(latencies)
    return result(
        system,
        "approval",
        metrics={
            "approvals": len(latencies),
            "event_to_resume_p50_ms": summary["p50_ms"],
            "event_to_resume_p99_ms": summary["p99_ms"],
        },
        notes=(
            "approval_required step, waited for until its approval.requested event is read; the event is "
            "command.approve on Kafka (what POST /v1/executions/{id}/steps/{step}/approve publishes); "
            "resume = the next data_transformation step ran and execution.completed was read."
        ),
    )


async def crash(system: BenchSystem, sizes: Sizes) -> WorkloadResult:
    counter = system.counter
    counter.reset()
    counter.sleep_seconds = CRASH_STEP_SECONDS
    ids = list(await asyncio.gather(*(system.start("bench_crash") for _ in range(sizes.crash))))
    total = sizes.crash * LINEAR_STEPS
    deadline = time.monotonic() + 300
    while counter.total() < total // 2:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {counter.total()} of {total} crash steps ran in 300 s")
        await asyncio.sleep(0.005)  # polling the side record; the kill lands within 5 ms of half
    at_kill = counter.total()
    await system.kill()
    restarted = time.perf_counter()
    await system.restart()
    up = time.perf_counter() - restarted
    statuses = await finish_all(system, ids)
    resume_seconds = max(system.watcher.finished[i][1] for i in ids) - restarted
    per_step = counter.per_step()
    missing = [
        (i, step_id(n)) for i in ids for n in range(1, LINEAR_STEPS + 1) if per_step[(i, step_id(n))] == 0
    ]
    duplicates = counter.duplicates()
    return result(
        system,
        "crash",
        metrics={
            "executions": len(ids),
            "completed": sum(1 for s in statuses.values() if s == "completed"),
            "steps_run_before_kill": at_kill,
            "restart_seconds": up,
            "resume_seconds": resume_seconds,
            "duplicate_steps": duplicates["per_execution_step"],
            "duplicate_idempotency_keys": duplicates["per_idempotency_key"],
            # Re-runs under a new attempt key: ones an API honouring Idempotency-Key would not absorb.
            "duplicate_steps_new_attempt": duplicates["per_execution_step"]
            - duplicates["per_idempotency_key"],
            "steps_never_run": len(missing),
        },
        notes=(
            "10 api_call steps to the loopback counter, each sleeping 0.05 s there; at half the steps the "
            "orchestrator AND the executor get SIGKILL, then both start again (restart_seconds: until "
            "both log 'started'). duplicate_steps = calls beyond one per (execution, step), counted by "
            "the counter under the Idempotency-Key each call carries; duplicate_idempotency_keys = "
            "beyond one per attempt key (a repeat with the same key is one effect at an API that "
            "honours Idempotency-Key)."
        ),
    )


def steps_equal(original: dict[str, Any], forked: dict[str, Any], step: str) -> bool:
    a, b = original["steps"].get(step), forked["steps"].get(step)
    return a is not None and b is not None and a["status"] == "succeeded" and a["output"] == b["output"]


async def fork(system: BenchSystem, sizes: Sizes) -> WorkloadResult:
    counter = system.counter
    counter.reset()
    counter.sleep_seconds = 0.0
    counter.failing = True
    ids = list(await asyncio.gather(*(system.start("bench_fork") for _ in range(sizes.forks))))
    statuses = await finish_all(system, ids)
    if any(status != "failed" for status in statuses.values()):
        raise RuntimeError(f"fork originals should all fail at step {FORK_AT_STEP + 1}: {statuses}")
    counter.failing = False
    fork_step = step_id(FORK_AT_STEP)
    began = time.perf_counter()
    forks = list(await asyncio.gather(*(system.fork(i, fork_step) for i in ids)))
    fork_statuses = await finish_all(system, forks)
    fork_seconds = max(system.watcher.finished[f][1] for f in forks) - began
    copied = [step_id(n) for n in range(1, FORK_AT_STEP)]
    rerun = [step_id(n) for n in range(FORK_AT_STEP, LINEAR_STEPS + 1)]
    correct = 0
    async with system.api() as client:
        for original_id, fork_id in zip(ids, forks, strict=True):
            original, forked = await asyncio.gather(
                system.execution(client, original_id), system.execution(client, fork_id)
            )
            runs = counter.steps_of(fork_id)
            if (
                forked["status"] == "completed"
                and forked["parent_execution_id"] == original_id
                and all(steps_equal(original, forked, s) for s in copied)
                and not any(s in runs for s in copied)  # steps 1-4 did not run again
                and all(runs.get(s) == 1 for s in rerun)
            ):
                correct += 1
    return result(
        system,
        "fork",
        metrics={
            "forked": sum(1 for s in fork_statuses.values() if s == "completed"),
            "fork_seconds": fork_seconds,
            "copied_outputs_correct": correct == len(ids),
            "correct_forks": correct,
        },
        notes=(
            "10 api_call steps to the loopback counter (answers carry a serial number, so a copied output "
            "differs from a re-run one); step 6 answers 400 while the counter's flag is set. Each failed "
            "execution is forked with command.fork at s05; both executions read back through GET "
            "/v1/executions/{id}; the counter shows which steps ran under the fork's id."
        ),
    )


WORKLOADS: dict[str, Workload] = {
    "linear": linear,
    "fanout": fanout,
    "timers": timers,
    "approval": approval,
    "crash": crash,
    "fork": fork,
}
