"""The six workloads as flowbus workflow definitions, registered as the bench tenant's own.

The no-op step is `data_transformation` with a constant `output`: the cheapest step type that
really goes the whole way (the orchestrator schedules it through its outbox onto
`steps.executor`, the executor runs it, records the attempt in PostgreSQL and answers on
`step-results`), with no remote call in its cost. Where the step itself must count its runs, tell
the time or fail on a flag (timers, crash, fork), it is an `api_call` to the loopback counter
(doubles.py) instead: the executor's real HTTP step, with the attempt's Idempotency-Key.

Fan-out is the `parallel_execution` step (a logic step run inside the orchestrator) whose join
is its `next_steps`; the timer is a `delay` step (a timer row in PostgreSQL fired by the
orchestrator's poller); approval is the `approval_required` step, resumed by a `command.approve`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.bench.peers.common import FAN_OUT, FORK_AT_STEP, LINEAR_STEPS, TIMER_SECONDS

FAILING_STEP = FORK_AT_STEP + 1  # step 6 fails on the first run


def step_id(index: int) -> str:
    return f"s{index:02d}"


def noop(step: str, index: int, next_steps: list[str]) -> dict[str, Any]:
    return {
        "id": step,
        "type": "data_transformation",
        "config": {"output": {"step": index}},
        "next_steps": next_steps,
    }


def call(step: str, url: str, next_steps: list[str]) -> dict[str, Any]:
    return {
        "id": step,
        "type": "api_call",
        "config": {"method": "POST", "url": url, "json": {"step": step}},
        "next_steps": next_steps,
        # No retries: a failure is the workload's own (fork), and a duplicate must not hide.
        "retry_policy": {"max_retries": 0},
    }


MakeStep = Callable[[str, int, list[str]], dict[str, Any]]


def chain(make: MakeStep, count: int) -> list[dict[str, Any]]:
    return [make(step_id(i), i, [step_id(i + 1)] if i < count else []) for i in range(1, count + 1)]


def workflow(workflow_id: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": f"bench {workflow_id}",
        "start_step_id": steps[0]["id"],
        "steps": steps,
    }


def linear() -> dict[str, Any]:
    return workflow("bench_linear", chain(noop, LINEAR_STEPS))


def fanout() -> dict[str, Any]:
    branches = [f"b{i:02d}" for i in range(1, FAN_OUT + 1)]
    steps = [
        noop("first", 0, ["fan"]),
        {"id": "fan", "type": "parallel_execution", "parallel_steps": branches, "next_steps": ["join"]},
        *(noop(branch, i, []) for i, branch in enumerate(branches, start=1)),
        noop("join", FAN_OUT + 1, []),
    ]
    return workflow("bench_fanout", steps)


def timers(counter_url: str) -> dict[str, Any]:
    steps = [
        {"id": "wait", "type": "delay", "config": {"delay_seconds": TIMER_SECONDS}, "next_steps": ["clock"]},
        call("clock", f"{counter_url}/noop", []),
    ]
    return workflow("bench_timers", steps)


def approval() -> dict[str, Any]:
    steps = [
        {
            "id": "approve",
            "type": "approval_required",
            "config": {"reason": "bench"},
            "next_steps": ["after"],
        },
        noop("after", 1, []),
    ]
    return workflow("bench_approval", steps)


def crash(counter_url: str) -> dict[str, Any]:
    def sleeping(step: str, _index: int, next_steps: list[str]) -> dict[str, Any]:
        return call(step, f"{counter_url}/sleep", next_steps)

    return workflow("bench_crash", chain(sleeping, LINEAR_STEPS))


def fork(counter_url: str) -> dict[str, Any]:
    def counted(step: str, index: int, next_steps: list[str]) -> dict[str, Any]:
        route = "/flaky" if index == FAILING_STEP else "/noop"
        return call(step, f"{counter_url}{route}", next_steps)

    return workflow("bench_fork", chain(counted, LINEAR_STEPS))


def all_workflows(counter_url: str) -> list[dict[str, Any]]:
    return [linear(), fanout(), timers(counter_url), approval(), crash(counter_url), fork(counter_url)]
