"""Workloads 5 and 6 on Temporal: crash (SIGKILL the dev server and the worker mid-run, restart both on the
same SQLite file) and fork (ResetWorkflowExecution of failed executions to the workflow task completed
after step 4's result, so steps 1-4 are copied from history and steps 5.. run again)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from typing import Any

from bench_workflows import CountedWorkflow
from common import CRASH_STEP_SECONDS, FORK_AT_STEP, LINEAR_STEPS, Sizes, WorkloadResult
from stack import TemporalStack
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from workloads import START_CONCURRENCY, new_id

WAIT_TIMEOUT = 300.0


def read_record(stack: TemporalStack) -> Counter[tuple[str, str, int]]:
    """(kind, execution, step) -> how many times the step wrote that line (start / done / failed)."""
    counts: Counter[tuple[str, str, int]] = Counter()
    if not stack.record.exists():
        return counts
    for line in stack.record.read_text().splitlines():
        kind, execution, step = line.split()
        counts[(kind, execution, int(step))] += 1
    return counts


def _count(counts: Counter[tuple[str, str, int]], kind: str) -> int:
    return sum(n for (k, _, _), n in counts.items() if k == kind)


def _extra(counts: Counter[tuple[str, str, int]], kind: str) -> int:
    return sum(n - 1 for (k, _, _), n in counts.items() if k == kind and n > 1)


async def _start_counted(
    client: Client, stack: TemporalStack, workload: str, count: int, sleep: float
) -> list[str]:
    limit = asyncio.Semaphore(START_CONCURRENCY)

    async def start_one() -> str:
        async with limit:
            handle = await client.start_workflow(
                CountedWorkflow.run,
                args=[LINEAR_STEPS, sleep],
                id=new_id(workload),
                task_queue=stack.task_queue,
            )
            return handle.id

    return await asyncio.gather(*(start_one() for _ in range(count)))


async def crash(client: Client, stack: TemporalStack, version: str, sizes: Sizes) -> WorkloadResult:
    stack.record.unlink(missing_ok=True)
    ids = await _start_counted(client, stack, "crash", sizes.crash, CRASH_STEP_SECONDS)
    total = sizes.crash * LINEAR_STEPS
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_TIMEOUT
    while _count(read_record(stack), "done") < total // 2:
        if loop.time() > deadline:
            raise TimeoutError("crash workload: half the steps never ran")
        await asyncio.sleep(0.01)  # polling the side record
    await stack.kill()
    done_at_kill = _count(read_record(stack), "done")
    restarted = time.perf_counter()
    await stack.start()
    engine_ready_seconds = time.perf_counter() - restarted
    outputs = await asyncio.wait_for(
        asyncio.gather(*(stack.client.get_workflow_handle(wid).result() for wid in ids)), WAIT_TIMEOUT
    )
    resume_seconds = time.perf_counter() - restarted
    counts = read_record(stack)
    missing = [
        (wid, step) for wid in ids for step in range(1, LINEAR_STEPS + 1) if counts[("done", wid, step)] == 0
    ]
    metrics = {
        "executions": sizes.crash,
        "steps_done_at_kill": done_at_kill,
        "resume_seconds": resume_seconds,
        "engine_ready_seconds": engine_ready_seconds,
        "duplicate_steps": _extra(counts, "done"),
        "duplicate_step_starts": _extra(counts, "start"),
        "all_complete": all(len(out) == LINEAR_STEPS for out in outputs) and not missing,
    }
    notes = (
        "SIGKILL of both the dev server (the single `temporal server start-dev` process) and the Python "
        "worker; restarted on the same SQLite file. resume_seconds = restart begun -> every result observed "
        "(includes server and worker start-up, engine_ready_seconds of it). duplicate_steps counts steps "
        "whose body finished more than once ('done' lines in an O_APPEND file written by the step); "
        "duplicate_step_starts counts re-runs of steps that had begun. Steps in flight at the kill are "
        "retried once their 5 s start_to_close timeout expires (Temporal's at-least-once activities)."
    )
    return WorkloadResult("temporal", version, "crash", metrics, {}, None, notes)


def _event_payload_outputs(event: HistoryEvent) -> Any:
    return event.activity_task_completed_event_attributes.result.payloads


async def _fork_point(client: Client, workflow_id: str) -> tuple[str, int, list[dict[str, Any]]]:
    """The failed run's id, the WorkflowTaskCompleted event after step FORK_AT_STEP-1's result, and the
    outputs of steps 1..FORK_AT_STEP-1 as recorded in the history."""
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(workflow_id)
    history = await handle.fetch_history()
    outputs: list[dict[str, Any]] = []
    last_copied_event = None
    for event in history.events:
        if (
            event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
            and len(outputs) < FORK_AT_STEP - 1
        ):
            [output] = await client.data_converter.decode(_event_payload_outputs(event), [dict])
            outputs.append(output)
            last_copied_event = event.event_id
        elif (
            event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            and last_copied_event is not None
            and len(outputs) == FORK_AT_STEP - 1
        ):
            run_id = (await handle.describe()).run_id
            return run_id, event.event_id, outputs
    raise RuntimeError(f"{workflow_id}: no workflow task completed after step {FORK_AT_STEP - 1}")


async def _reset(client: Client, workflow_id: str, run_id: str, event_id: int) -> str:
    request = ResetWorkflowExecutionRequest(
        namespace=client.namespace,
        workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
        reason="bench fork at step 5",
        workflow_task_finish_event_id=event_id,
        request_id=str(uuid.uuid4()),
    )
    response = await client.workflow_service.reset_workflow_execution(request)
    return response.run_id


async def fork(client: Client, stack: TemporalStack, version: str, sizes: Sizes) -> WorkloadResult:
    stack.record.unlink(missing_ok=True)
    stack.fail_flag.touch()
    ids = await _start_counted(client, stack, "fork", sizes.forks, 0.0)
    failed = 0
    for wid in ids:
        try:
            await client.get_workflow_handle(wid).result()
        except WorkflowFailureError:
            failed += 1
    stack.fail_flag.unlink()  # the fork's step 6 succeeds
    points = await asyncio.gather(*(_fork_point(client, wid) for wid in ids))
    began = time.perf_counter()
    new_runs = await asyncio.gather(
        *(
            _reset(client, wid, run_id, event_id)
            for wid, (run_id, event_id, _) in zip(ids, points, strict=True)
        )
    )
    issued_seconds = time.perf_counter() - began
    results = await asyncio.wait_for(
        asyncio.gather(
            *(
                client.get_workflow_handle(wid, run_id=run).result()
                for wid, run in zip(ids, new_runs, strict=True)
            )
        ),
        WAIT_TIMEOUT,
    )
    fork_seconds = time.perf_counter() - began
    counts = read_record(stack)
    copied = FORK_AT_STEP - 1
    outputs_equal = all(
        result[:copied] == original for result, (_, _, original) in zip(results, points, strict=True)
    )
    copied_steps_ran_once = all(
        counts[("start", wid, step)] == 1 for wid in ids for step in range(1, copied + 1)
    )
    later_steps_reran = all(
        counts[("done", wid, step)] == 2 for wid in ids for step in range(FORK_AT_STEP, FORK_AT_STEP + 1)
    )
    metrics = {
        "executions": sizes.forks,
        "failed_first_run": failed,
        "forked": sum(1 for result in results if len(result) == LINEAR_STEPS),
        "fork_issue_seconds": issued_seconds,
        "fork_seconds": fork_seconds,
        "copied_outputs_correct": outputs_equal and copied_steps_ran_once,
        "copied_outputs_equal": outputs_equal,
        "copied_steps_ran_once": copied_steps_ran_once,
        "step_5_ran_again": later_steps_reran,
    }
    notes = (
        "fork = ResetWorkflowExecution of the failed run to the WorkflowTaskCompleted event after step 4's "
        "ActivityTaskCompleted (a new run of the same workflow id; steps 1-4 replayed from the copied "
        "history, step 5 onwards run again); step 6 fails (non-retryable) while a flag file exists. "
        "fork_seconds = first reset issued -> every forked run's result observed."
    )
    return WorkloadResult("temporal", version, "fork", metrics, {}, None, notes)
