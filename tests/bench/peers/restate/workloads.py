"""The client side of the six workloads against Restate's HTTP ingress and admin API (loopback only).

Executions are started the way a Restate user would: a request-response call for linear/fanout
(`POST /Service/handler` returns the result), `/send` plus `/attach` where the start must be
acknowledged first (timers, approval, crash, fork)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from importlib.metadata import version as package_version
from typing import Any

import httpx
from common import (
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
    cpu_seconds,
    latency_curve,
    latency_summary,
    percentile,
)
from engine import ADMIN, FAIL_FLAG, INGRESS, STEP_RECORD, Restate

ENGINE = "restate"
STORAGE_NOTE = (
    "no PostgreSQL: Restate keeps its log (Bifrost) and state in its own RocksDB under its data dir"
)
LOAD_CLIENT_NOTE = "load client: httpx in the runner process, not in processes (its CPU is in metrics)"
START_CONCURRENCY = 64  # in-flight start requests when starting many executions "quickly"
# As in services.py, which the runner does not import (it runs under hypercorn, with the SDK).
CRASH_STEPS = 10
FORK_STEPS = 10


def version(engine: Restate) -> str:
    return f"restate-server {engine.version}, restate-sdk {package_version('restate-sdk')}"


def new_client() -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=256)
    return httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(300.0, connect=30.0))


async def call(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Any:
    response = await client.post(f"{INGRESS}/{path}", json=body)
    response.raise_for_status()
    return response.json() if response.content else None


async def send(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
    """Start an execution without waiting for it; returns the invocation id once Restate acknowledged."""
    response = await client.post(f"{INGRESS}/{path}/send", json=body)
    response.raise_for_status()
    invocation_id: str = response.json()["invocationId"]
    return invocation_id


async def attach(client: httpx.AsyncClient, path: str) -> httpx.Response:
    """Wait for an execution's result (`path`: workflow/<name>/<key> or invocation/<id>)."""
    return await client.get(f"{INGRESS}/restate/{path}/attach")


async def query(client: httpx.AsyncClient, sql: str) -> list[dict[str, Any]]:
    response = await client.post(
        f"{ADMIN}/query", json={"query": sql}, headers={"accept": "application/json"}
    )
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows


async def wait_for(check: Callable[[], Awaitable[bool]], limit_seconds: float, what: str) -> None:
    deadline = time.monotonic() + limit_seconds
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {limit_seconds:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)  # polling interval of a condition, not synchronisation by sleep


async def bounded(concurrency: int, jobs: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(one(job) for job in jobs))


def read_step_record() -> list[dict[str, Any]]:
    if not STEP_RECORD.exists():
        return []
    return [json.loads(line) for line in STEP_RECORD.read_text().splitlines() if line]


# --- 1 and 2: throughput at saturation, then latency at half of it --------------------------------
async def throughput(
    engine: Restate, workload: str, service: str, steps_per_execution: int, sizes: Sizes
) -> WorkloadResult:
    async with new_client() as client:
        completed = 0

        async def run_one() -> None:
            nonlocal completed
            await call(client, f"{service}/run", {})
            completed += 1

        meter = ProcessMeter(engine.pids())
        meter.start()
        client_cpu = cpu_seconds(os.getpid())
        executions_per_s = await closed_loop(run_one, SATURATION_CONCURRENCY, sizes)
        steps = completed * steps_per_execution
        processes = meter.stop(steps)
        client_cpu = cpu_seconds(os.getpid()) - client_cpu
        rate = executions_per_s / 2
        latencies, curve = await latency_curve(run_one, executions_per_s, sizes)
    summary = latency_summary(latencies)
    metrics = {
        "curve": curve,
        "saturation_executions_per_s": executions_per_s,
        "saturation_steps_per_s": executions_per_s * steps_per_execution,
        "open_loop_rate_per_s": rate,
        "p50_ms": summary["p50_ms"],
        "p99_ms": summary["p99_ms"],
        "latency_samples": summary["count"],
        "steps_per_execution": steps_per_execution,
        "load_client_cpu_s_per_1000_steps": client_cpu / max(steps, 1) * 1000,
    }
    notes = f"{STORAGE_NOTE}; {LOAD_CLIENT_NOTE}; CPU is over warm-up + measure of the closed loop"
    return WorkloadResult(ENGINE, version(engine), workload, metrics, processes, None, notes)


async def linear(engine: Restate, sizes: Sizes) -> WorkloadResult:
    return await throughput(engine, "linear", "Linear", LINEAR_STEPS, sizes)


async def fanout(engine: Restate, sizes: Sizes) -> WorkloadResult:
    return await throughput(engine, "fanout", "Fanout", FAN_OUT + 2, sizes)


# --- 3: durable timers -------------------------------------------------------------------------------
async def timers(engine: Restate, sizes: Sizes) -> WorkloadResult:
    run = uuid.uuid4().hex[:8]
    keys = [f"{run}-{i}" for i in range(sizes.timers)]
    acknowledged: dict[str, float] = {}
    async with new_client() as client:

        def starter(key: str) -> Callable[[], Awaitable[None]]:
            async def start() -> None:
                await send(client, f"TimerFlow/{key}/run", {"seconds": TIMER_SECONDS})
                acknowledged[key] = time.time()

            return start

        began = time.perf_counter()
        await bounded(START_CONCURRENCY, [starter(key) for key in keys])
        start_seconds = time.perf_counter() - began
        responses = await asyncio.gather(*(attach(client, f"workflow/TimerFlow/{key}") for key in keys))
        # The deadline Restate itself set for each sleep, from the journal (a second view of lateness).
        rows = await query(
            client,
            "SELECT i.target_service_key AS key, j.entry_json FROM sys_journal j "
            "JOIN sys_invocation i ON j.id = i.id WHERE i.target_service_name = 'TimerFlow' "
            f"AND j.entry_type = 'Command: Sleep' AND i.target_service_key LIKE '{run}-%'",
        )
    deadline = {
        row["key"]: json.loads(row["entry_json"])["Command"]["Sleep"]["wake_up_time"] / 1000 for row in rows
    }
    woke_at = {}
    for key, response in zip(keys, responses, strict=True):
        response.raise_for_status()
        woke_at[key] = response.json()["woke_at"]
    lateness = [woke_at[key] - (acknowledged[key] + TIMER_SECONDS) for key in keys]
    engine_lateness = [woke_at[key] - deadline[key] for key in keys if key in deadline]
    metrics = {
        "executions": len(keys),
        "start_seconds": start_seconds,
        "lateness_p50_ms": percentile(lateness, 0.50) * 1000,
        "lateness_p99_ms": percentile(lateness, 0.99) * 1000,
        "lateness_max_ms": max(lateness) * 1000,
        "lateness_vs_journaled_deadline_p50_ms": percentile(engine_lateness, 0.50) * 1000,
        "lateness_vs_journaled_deadline_p99_ms": percentile(engine_lateness, 0.99) * 1000,
    }
    notes = (
        f"ctx.sleep in a Workflow, started with /send ({START_CONCURRENCY} in flight); lateness is "
        "negative when the sleep began before the client saw the start acknowledged (the ack is the "
        "reply to /send, which can come after the invocation already ran up to its sleep); "
        f"lateness_vs_journaled_deadline uses the wake-up time in the Sleep journal entry; {STORAGE_NOTE}"
    )
    return WorkloadResult(ENGINE, version(engine), "timers", metrics, {}, None, notes)


# --- 4: approval through a durable promise ------------------------------------------------------------
async def approval(engine: Restate, sizes: Sizes) -> WorkloadResult:
    run = uuid.uuid4().hex[:8]
    keys = [f"{run}-{i}" for i in range(sizes.approvals)]
    async with new_client() as client:
        await bounded(
            START_CONCURRENCY, [partial(send, client, f"ApprovalFlow/{key}/run", {}) for key in keys]
        )

        async def all_waiting() -> bool:
            rows = await query(
                client,
                "SELECT count(*) AS waiting FROM sys_journal j JOIN sys_invocation i ON j.id = i.id "
                "WHERE i.target_service_name = 'ApprovalFlow' AND i.target_handler_name = 'run' "
                f"AND j.entry_type = 'Command: GetPromise' AND i.target_service_key LIKE '{run}-%'",
            )
            return int(rows[0]["waiting"]) >= len(keys)

        await wait_for(all_waiting, 120, "every approval workflow to wait on its promise")
        latencies = []
        for key in keys:  # one at a time: latency, not load
            result = asyncio.create_task(attach(client, f"workflow/ApprovalFlow/{key}"))
            began = time.perf_counter()
            await call(client, f"ApprovalFlow/{key}/approve", {"approved": True})
            response = await result
            latencies.append(time.perf_counter() - began)
            response.raise_for_status()
    summary = latency_summary(latencies)
    metrics = {
        "executions": len(keys),
        "event_to_resume_p50_ms": summary["p50_ms"],
        "event_to_resume_p99_ms": summary["p99_ms"],
    }
    notes = (
        "event = call to the workflow's shared handler that resolves its durable promise; "
        "t0 before that call, t1 when the attached client has the result; " + STORAGE_NOTE
    )
    return WorkloadResult(ENGINE, version(engine), "approval", metrics, {}, None, notes)


# --- 5: SIGKILL mid-run -------------------------------------------------------------------------------
async def crash(engine: Restate, sizes: Sizes) -> WorkloadResult:
    run = uuid.uuid4().hex[:8]
    keys = [f"{run}-{i}" for i in range(sizes.crash)]
    total_steps = len(keys) * CRASH_STEPS

    def crash_lines() -> list[dict[str, Any]]:
        return [line for line in read_step_record() if line["w"] == "crash" and line["e"].startswith(run)]

    acknowledged: set[str] = set()

    async def start(client: httpx.AsyncClient, key: str) -> None:
        await send(client, f"CrashFlow/{key}/run", {})
        acknowledged.add(key)

    async def half_done() -> bool:
        return len(crash_lines()) >= total_steps // 2

    async with new_client() as client:
        # Starting goes on while the first executions run; the kill may land while some starts are
        # still unacknowledged: those are sent again after the restart (the workflow key dedups them).
        starting = asyncio.create_task(bounded(START_CONCURRENCY, [partial(start, client, k) for k in keys]))
        await wait_for(half_done, 300, "half of the crash workload's steps")
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await starting
    steps_before_kill = len(crash_lines())
    engine.kill()
    restarted = time.perf_counter()
    engine.start(fresh=False)
    processes_up = time.perf_counter() - restarted
    unacknowledged = [key for key in keys if key not in acknowledged]
    async with new_client() as client:
        await asyncio.gather(*(start(client, key) for key in unacknowledged))
        responses = await asyncio.gather(*(attach(client, f"workflow/CrashFlow/{key}") for key in keys))
    resume_seconds = time.perf_counter() - restarted
    failed = sum(1 for response in responses if response.status_code != 200)
    runs = Counter((line["e"], line["s"]) for line in crash_lines())
    missing = sum(1 for key in keys for step in range(1, CRASH_STEPS + 1) if (key, step) not in runs)
    metrics = {
        "executions": len(keys),
        "steps_before_kill": steps_before_kill,
        "resume_seconds": resume_seconds,
        "restart_seconds": processes_up,
        "starts_unacknowledged_at_kill": len(unacknowledged),
        "duplicate_steps": sum(count - 1 for count in runs.values()),
        "missing_steps": missing,
        "failed_executions": failed,
    }
    notes = (
        f"SIGKILL of restate-server and of the SDK service (hypercorn master + worker) once half the "
        f"steps ran ({CRASH_STEP_SECONDS} s each); resume_seconds from the restart (both processes, "
        "same data dir) to every workflow's result (restart_seconds: until both listen again); a step "
        "whose result Restate had not journaled before the kill runs again (at-least-once ctx.run); "
        "after the restart each partition replays its log since its last RocksDB flush (here the earlier "
        "workloads' traffic too: 'caught up in' lines in logs/server.log), which dominates resume_seconds"
    )
    return WorkloadResult(ENGINE, version(engine), "crash", metrics, {}, None, notes)


# --- 6: fork with restart-as-new from a journal prefix -------------------------------------------------
async def fork(engine: Restate, sizes: Sizes) -> WorkloadResult:
    run = uuid.uuid4().hex[:8]
    executions = [f"{run}-{i}" for i in range(sizes.forks)]
    copied_step = FORK_AT_STEP - 1  # the last step whose journal entries the fork keeps
    FAIL_FLAG.touch()
    async with new_client() as client:
        originals = await bounded(
            START_CONCURRENCY,
            [partial(send, client, "Forkable/run", {"execution": e}) for e in executions],
        )
        first_runs = await asyncio.gather(*(attach(client, f"invocation/{i}") for i in originals))
        failed_first = sum(1 for response in first_runs if response.status_code != 200)
        FAIL_FLAG.unlink()
        # restart-as-new keeps the journal up to an entry index: the command of step FORK_AT_STEP - 1
        # (its completion is copied with it). Looked up in the journal before the clock starts.
        id_list = ", ".join(f"'{i}'" for i in originals)
        rows = await query(
            client,
            f"SELECT id, index FROM sys_journal WHERE id IN ({id_list}) "
            f"AND entry_type = 'Command: Run' AND name = 'step-{copied_step}'",
        )
        prefix_end = {row["id"]: int(row["index"]) for row in rows}

        async def restart(invocation_id: str) -> str:
            url = f"{ADMIN}/invocations/{invocation_id}/restart-as-new"
            response = await client.patch(url, params={"from": prefix_end[invocation_id]})
            response.raise_for_status()
            new_id: str = response.json()["new_invocation_id"]
            return new_id

        began = time.perf_counter()
        forks = await asyncio.gather(*(restart(i) for i in originals))
        fork_runs = await asyncio.gather(*(attach(client, f"invocation/{i}") for i in forks))
        fork_seconds = time.perf_counter() - began
    record = [line for line in read_step_record() if line["e"].startswith(run) and line["w"] == "fork"]
    runs = Counter((line["e"], line["s"]) for line in record)
    first_outputs = {(line["e"], line["s"]): line["o"] for line in record}  # steps 1-4 ran once
    correct, completed = 0, 0
    for execution, response in zip(executions, fork_runs, strict=True):
        if response.status_code != 200:
            continue
        completed += 1
        outputs = response.json()["outputs"]
        copied_ok = all(
            runs[(execution, step)] == 1 and outputs[step - 1] == first_outputs[(execution, step)]
            for step in range(1, FORK_AT_STEP)
        )
        rest_ok = len(outputs) == FORK_STEPS and all(
            runs[(execution, step)] >= 1 for step in range(FORK_AT_STEP, FORK_STEPS + 1)
        )
        correct += copied_ok and rest_ok
    metrics = {
        "executions": len(executions),
        "failed_first_run": failed_first,
        "forked": completed,
        "fork_seconds": fork_seconds,
        "copied_outputs_correct": correct == len(executions),
        "copied_outputs_correct_count": correct,
    }
    notes = (
        "Restate's admin API PATCH /invocations/{id}/restart-as-new?from=<journal index of step 4's "
        "command> (a Service: restart-as-new refuses Workflow invocations); fork_seconds from the first "
        "restart request to every fork's result"
    )
    return WorkloadResult(ENGINE, version(engine), "fork", metrics, {}, None, notes)


WORKLOADS: dict[str, Callable[[Restate, Sizes], Awaitable[WorkloadResult]]] = {
    "linear": linear,
    "fanout": fanout,
    "timers": timers,
    "approval": approval,
    "crash": crash,
    "fork": fork,
}
