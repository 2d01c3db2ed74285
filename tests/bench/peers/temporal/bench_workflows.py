"""The benchmark's workflows written as Temporal would have them: every step is an activity (scheduled and
recorded by the server, run by the worker), fan-out is asyncio.gather over activities, a durable timer is
workflow.sleep, an external event is a signal awaited with workflow.wait_condition."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import bench_activities

# Steps take milliseconds; a step lost with a killed worker is retried once this expires.
STEP_TIMEOUT = timedelta(seconds=5)


@workflow.defn
class LinearWorkflow:
    @workflow.run
    async def run(self, steps: int) -> int:
        for step in range(1, steps + 1):
            await workflow.execute_activity(bench_activities.noop, step, start_to_close_timeout=STEP_TIMEOUT)
        return steps


@workflow.defn
class FanoutWorkflow:
    @workflow.run
    async def run(self, width: int) -> int:
        await workflow.execute_activity(bench_activities.noop, 0, start_to_close_timeout=STEP_TIMEOUT)
        branches = await asyncio.gather(
            *(
                workflow.execute_activity(bench_activities.noop, step, start_to_close_timeout=STEP_TIMEOUT)
                for step in range(1, width + 1)
            )
        )
        await workflow.execute_activity(bench_activities.noop, width + 1, start_to_close_timeout=STEP_TIMEOUT)
        return len(branches) + 2


@workflow.defn
class TimerWorkflow:
    @workflow.run
    async def run(self, seconds: float) -> float:
        await workflow.sleep(seconds)
        stamped = await workflow.execute_activity(bench_activities.stamp, start_to_close_timeout=STEP_TIMEOUT)
        return float(stamped["ran_at"])


@workflow.defn
class ApprovalWorkflow:
    def __init__(self) -> None:
        self._approved = False

    @workflow.signal
    def approve(self) -> None:
        self._approved = True

    @workflow.query
    def waiting(self) -> bool:
        return not self._approved

    @workflow.run
    async def run(self) -> dict[str, Any]:
        await workflow.wait_condition(lambda: self._approved)
        return await workflow.execute_activity(bench_activities.noop, 1, start_to_close_timeout=STEP_TIMEOUT)


@workflow.defn
class CountedWorkflow:
    """Crash and fork: steps that record each run of themselves, so re-runs can be counted."""

    @workflow.run
    async def run(self, steps: int, sleep_seconds: float) -> list[dict[str, Any]]:
        execution = workflow.info().workflow_id
        outputs = []
        for step in range(1, steps + 1):
            outputs.append(
                await workflow.execute_activity(
                    bench_activities.counted_step,
                    args=[execution, step, sleep_seconds],
                    start_to_close_timeout=STEP_TIMEOUT,
                )
            )
        return outputs


ALL_WORKFLOWS = [LinearWorkflow, FanoutWorkflow, TimerWorkflow, ApprovalWorkflow, CountedWorkflow]
ALL_ACTIVITIES: list[Callable[..., Any]] = [
    bench_activities.noop,
    bench_activities.stamp,
    bench_activities.counted_step,
]
