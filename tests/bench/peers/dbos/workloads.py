"""The load side of the six workloads: what the runner sends to the DBOS app and what it measures.

Every call goes over loopback HTTP to app.py, the only engine process (DBOS runs in it; PostgreSQL is the
shared database server and is not metered). The load client is this runner's process and is not metered.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import common
import httpx
from dbos import DBOSClient

if TYPE_CHECKING:
    from run import AppProcess

T = TypeVar("T")
ENGINE = "dbos"
START_CONCURRENCY = 64  # starts in flight at once when a workload starts many executions "quickly"
APPROVAL_TIMEOUT_SECONDS = 600.0
SETTLE_SECONDS = 1.0
COMPLETION_POLL_SECONDS = 0.05
COMPLETION_TIMEOUT_SECONDS = 600.0
FAILED_STATUSES = ["ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"]


@dataclass
class Bench:
    http: httpx.AsyncClient
    app: AppProcess
    sizes: common.Sizes
    version: str
    database_url: str


async def post(bench: Bench, path: str, body: dict[str, Any]) -> Any:
    response = await bench.http.post(path, json=body)
    response.raise_for_status()
    return response.json()


async def get(bench: Bench, path: str) -> Any:
    response = await bench.http.get(path)
    response.raise_for_status()
    return response.json()


async def bounded(
    call: Callable[[str], Awaitable[T]], items: list[str], limit: int = START_CONCURRENCY
) -> list[T]:
    """`call(item)` for every item, at most `limit` at once; results in the items' order."""
    gate = asyncio.Semaphore(limit)

    async def one(item: str) -> T:
        async with gate:
            return await call(item)

    return await asyncio.gather(*(one(item) for item in items))


def result(bench: Bench, workload: str, **fields: Any) -> common.WorkloadResult:
    return common.WorkloadResult(engine=ENGINE, version=bench.version, workload=workload, **fields)


async def saturation_then_latency(
    bench: Bench, workload: str, args: dict[str, Any], steps: int
) -> common.WorkloadResult:
    """Closed loop to find executions/s at saturation (metered), then an open loop at half of it."""
    completed = 0

    async def run_one() -> None:
        nonlocal completed
        await post(bench, f"/run/{workload}", {"args": args})
        completed += 1

    meter = common.ProcessMeter({"dbos_app": bench.app.pid})
    commits_before, syncs_before = (
        common.pg_commits(bench.database_url),
        common.pg_wal_syncs(bench.database_url),
    )
    meter.start()
    executions_per_s = await common.closed_loop(run_one, common.SATURATION_CONCURRENCY, bench.sizes)
    steps_run = completed * steps
    processes = meter.stop(steps_run)
    commits = common.pg_commits(bench.database_url) - commits_before
    syncs = common.pg_wal_syncs(bench.database_url) - syncs_before
    latencies, curve = await common.latency_curve(run_one, executions_per_s, bench.sizes)
    summary = common.latency_summary(latencies)
    metrics = {
        "curve": curve,
        "saturation_executions_per_s": executions_per_s,
        "saturation_steps_per_s": executions_per_s * steps,
        "open_loop_rate_per_s": executions_per_s * 0.5,
        "p50_ms": summary["p50_ms"],
        "p99_ms": summary["p99_ms"],
        "latency_count": summary["count"],
    }
    notes = (
        "Each execution is one POST to a FastAPI endpoint that calls the DBOS workflow inline and returns "
        "its result. processes: the DBOS app (uvicorn + DBOS, the only engine process) over the whole "
        "closed loop (warm-up + window); the load client is a separate process, not metered. "
        "db_commits_per_step: pg_stat_database xact_commit of the DBOS system database over the same span "
        "(read-only transactions count too) / steps run; db_wal_syncs_per_step: pg_stat_wal wal_sync of "
        "the server over the same span / steps run."
    )
    return result(
        bench,
        workload,
        metrics=metrics,
        processes=processes,
        db_commits_per_step=commits / max(steps_run, 1),
        db_wal_syncs_per_step=syncs / max(steps_run, 1),
        notes=notes,
    )


async def linear(bench: Bench) -> common.WorkloadResult:
    return await saturation_then_latency(bench, "linear", {"steps": common.LINEAR_STEPS}, common.LINEAR_STEPS)


async def fanout(bench: Bench) -> common.WorkloadResult:
    outcome = await saturation_then_latency(bench, "fanout", {"width": common.FAN_OUT}, common.FAN_OUT + 2)
    outcome.notes += " Fan-out: asyncio.gather of 20 @DBOS.step calls inside the async workflow."
    return outcome


async def start_many(
    bench: Bench, workload: str, ids: list[str], args: Callable[[str], dict[str, Any]]
) -> dict[str, float]:
    """Starts one execution per id; returns each id's start acknowledgement (client wall clock)."""
    acknowledged: dict[str, float] = {}

    async def start(workflow_id: str) -> None:
        await post(bench, f"/start/{workload}", {"id": workflow_id, "args": args(workflow_id)})
        acknowledged[workflow_id] = time.time()

    await bounded(start, ids)
    return acknowledged


async def timers(bench: Bench) -> common.WorkloadResult:
    ids = [f"timer-{index}" for index in range(bench.sizes.timers)]
    began = time.perf_counter()
    acknowledged = await start_many(bench, "timers", ids, lambda _: {"seconds": common.TIMER_SECONDS})
    start_seconds = time.perf_counter() - began
    outputs = await asyncio.gather(*(get(bench, f"/result/{workflow_id}") for workflow_id in ids))
    lateness = [
        output["result"]["at"] - (acknowledged[workflow_id] + common.TIMER_SECONDS)
        for workflow_id, output in zip(ids, outputs, strict=True)
    ]
    summary = common.latency_summary(lateness)
    metrics = {
        "executions": len(ids),
        "start_seconds": start_seconds,
        "lateness_p50_ms": summary["p50_ms"],
        "lateness_p99_ms": summary["p99_ms"],
        "lateness_max_ms": max(lateness) * 1000,
    }
    notes = f"DBOS.sleep_async({common.TIMER_SECONDS}) then one step returning time.time(); started "
    notes += f"{START_CONCURRENCY} at a time; acknowledged = client clock when the start call returned."
    return result(bench, "timers", metrics=metrics, notes=notes)


async def approval(bench: Bench) -> common.WorkloadResult:
    ids = [f"approval-{index}" for index in range(bench.sizes.approvals)]
    await start_many(bench, "approval", ids, lambda _: {"timeout_seconds": APPROVAL_TIMEOUT_SECONDS})
    await asyncio.sleep(SETTLE_SECONDS)  # lets the last ones started reach DBOS.recv
    latencies: list[float] = []
    for workflow_id in ids:  # one at a time: latency, not load
        waiting = asyncio.create_task(get(bench, f"/result/{workflow_id}"))
        await asyncio.sleep(0)  # the result request goes out before the event does
        sent_at = time.perf_counter()
        await post(bench, f"/send/{workflow_id}", {"message": "approved"})
        output = await waiting
        latencies.append(time.perf_counter() - sent_at)
        if output.get("result", {}).get("decision") != "approved":
            raise RuntimeError(f"{workflow_id} did not resume with the approval: {output}")
    summary = common.latency_summary(latencies)
    metrics = {
        "executions": len(ids),
        "event_to_resume_p50_ms": summary["p50_ms"],
        "event_to_resume_p99_ms": summary["p99_ms"],
    }
    notes = "DBOS.recv_async in the workflow, DBOS.send_async from an endpoint (LISTEN/NOTIFY wakes recv); "
    notes += "t0 = before the send request, end = the awaited workflow result arrives at the client."
    return result(bench, "approval", metrics=metrics, notes=notes)


def step_counts(bench: Bench, kind: str, prefix: str) -> Counter[tuple[str, int]]:
    counts: Counter[tuple[str, int]] = Counter()
    if not bench.app.step_record.exists():
        return counts
    for line in bench.app.step_record.read_text().splitlines():
        what, key, step = line.split()
        if what == kind and key.startswith(prefix):
            counts[(key, int(step))] += 1
    return counts


async def wait_until_succeeded(bench: Bench, ids: list[str]) -> None:
    """Polls the system database (DBOS's own client) until every id has status SUCCESS."""
    client = DBOSClient(system_database_url=bench.database_url)
    try:
        deadline = time.monotonic() + COMPLETION_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            done = await client.list_workflows_async(
                workflow_ids=ids, status="SUCCESS", load_input=False, load_output=False
            )
            if len(done) == len(ids):
                return
            failed = await client.list_workflows_async(
                workflow_ids=ids, status=FAILED_STATUSES, load_input=False, load_output=False
            )
            if failed:
                raise RuntimeError(
                    f"{len(failed)} workflows ended {failed[0].status}, e.g. {failed[0].error}"
                )
            await asyncio.sleep(COMPLETION_POLL_SECONDS)  # polling the condition
        raise TimeoutError(f"only some of {len(ids)} workflows succeeded within the timeout")
    finally:
        client.destroy()


async def crash(bench: Bench) -> common.WorkloadResult:
    steps = common.LINEAR_STEPS
    ids = [f"crash-{index}" for index in range(bench.sizes.crash)]
    half = len(ids) * steps // 2
    await start_many(
        bench, "crash", ids, lambda key: {"key": key, "steps": steps, "seconds": common.CRASH_STEP_SECONDS}
    )
    deadline = time.monotonic() + COMPLETION_TIMEOUT_SECONDS
    # The side record is a plain file written by another process: polling it is the only way to watch.
    while sum(step_counts(bench, "end", "crash-").values()) < half:
        if time.monotonic() > deadline:
            raise TimeoutError("the crash workload's steps did not reach half way")
        await asyncio.sleep(0.01)
    bench.app.kill()
    ended_at_kill = sum(step_counts(bench, "end", "crash-").values())
    started_at_kill = sum(step_counts(bench, "start", "crash-").values())
    restarted = time.perf_counter()
    bench.app.spawn()
    await bench.app.wait_ready(bench.http)
    ready_seconds = time.perf_counter() - restarted
    await wait_until_succeeded(bench, ids)
    resume_seconds = time.perf_counter() - restarted
    starts, ends = step_counts(bench, "start", "crash-"), step_counts(bench, "end", "crash-")
    expected = {(workflow_id, step) for workflow_id in ids for step in range(1, steps + 1)}
    metrics = {
        "executions": len(ids),
        "resume_seconds": resume_seconds,
        "restart_to_ready_seconds": ready_seconds,
        "duplicate_steps": sum(count - 1 for count in starts.values()),
        "duplicate_completed_steps": sum(count - 1 for count in ends.values()),
        "steps_completed_at_kill": ended_at_kill,
        "steps_in_flight_at_kill": started_at_kill - ended_at_kill,
        "all_steps_completed": expected <= set(ends),
    }
    notes = (
        f"{steps} steps of {common.CRASH_STEP_SECONDS} s each; SIGKILL of the DBOS app process (the only "
        "engine process; PostgreSQL keeps running) once half the steps had completed, then a restart: "
        "DBOS.launch() recovers the PENDING workflows. resume_seconds = restart -> all SUCCESS "
        "(polled with DBOSClient). duplicate_steps counts step starts beyond one per (execution, step); "
        "duplicate_completed_steps counts step bodies that finished twice. A step killed mid-way runs again "
        "(DBOS steps are at-least-once: the checkpoint is written after the step returns)."
    )
    return result(bench, "crash", metrics=metrics, notes=notes)


async def fork(bench: Bench) -> common.WorkloadResult:
    steps = common.LINEAR_STEPS
    ids = [f"fork-{index}" for index in range(bench.sizes.forks)]
    bench.app.fail_flag.touch()
    await start_many(bench, "fork", ids, lambda key: {"key": key, "steps": steps})
    originals = await asyncio.gather(*(get(bench, f"/result/{workflow_id}") for workflow_id in ids))
    failed = [workflow_id for workflow_id, output in zip(ids, originals, strict=True) if "error" in output]
    bench.app.fail_flag.unlink()
    began = time.perf_counter()

    async def fork_one(workflow_id: str) -> Any:
        return await post(bench, f"/fork/{workflow_id}", {"start_step": common.FORK_AT_STEP})

    forks = await bounded(fork_one, failed)
    fork_ids = [answer["id"] for answer in forks]
    await wait_until_succeeded(bench, fork_ids)
    fork_seconds = time.perf_counter() - began
    metrics = {
        "executions": len(ids),
        "failed_first_run": len(failed),
        "forked": len(fork_ids),
        "fork_seconds": fork_seconds,
        "copied_outputs_correct": await copies_correct(bench, failed, fork_ids, steps),
    }
    notes = (
        f"fork_workflow_async(id, start_step={common.FORK_AT_STEP}): DBOS copies the checkpoints of steps "
        f"1-{common.FORK_AT_STEP - 1} (its step ids are 1-based) and enqueues the fork on its internal "
        "queue; fork_seconds = first fork call -> all forks SUCCESS (polled with DBOSClient). Correct = "
        "copied outputs (with a per-run random token) equal the original's, steps "
        f"1-{common.FORK_AT_STEP - 1} started once, steps {common.FORK_AT_STEP}-{steps} ran again."
    )
    return result(bench, "fork", metrics=metrics, notes=notes)


async def copies_correct(bench: Bench, originals: list[str], forks: list[str], steps: int) -> bool:
    starts = step_counts(bench, "start", "fork-")
    copied = range(1, common.FORK_AT_STEP)
    for original, forked in zip(originals, forks, strict=True):
        before = {s["function_id"]: s["output"] for s in await get(bench, f"/steps/{original}")}
        after = {s["function_id"]: s["output"] for s in await get(bench, f"/steps/{forked}")}
        if any(before.get(step) is None or before[step] != after.get(step) for step in copied):
            return False
        if any(starts[(original, step)] != 1 for step in copied):
            return False
        rerun = range(common.FORK_AT_STEP, steps + 1)
        if any(starts[(original, step)] < 2 and step <= 6 for step in rerun):
            return False  # steps 5 and 6 ran in the original too, so the fork must have run them again
        if any(after.get(step) is None for step in rerun):
            return False
    return True


WORKLOADS: dict[str, Callable[[Bench], Awaitable[common.WorkloadResult]]] = {
    "linear": linear,
    "fanout": fanout,
    "timers": timers,
    "approval": approval,
    "crash": crash,
    "fork": fork,
}
