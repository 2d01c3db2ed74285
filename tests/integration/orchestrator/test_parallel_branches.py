"""A parallel step's branches run side by side in the executor, on Kafka: each branch waits until
all of them are running, which can only happen if none waits for another to finish first (step
requests are keyed by execution and step, not by execution alone)."""

from __future__ import annotations

import asyncio
from typing import Any

from flowbus_shared.schemas import StartExecution, StepRequest, new_id
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepFailure
from flowbus_shared.topics import COMMANDS
from tests.support.system import TestSteps, running_system

BRANCHES = 4


async def test_the_branches_of_a_parallel_step_run_at_the_same_time(
    system_settings: FlowbusSettings, topic_prefix: str
) -> None:
    running: set[str] = set()
    all_running = asyncio.Event()

    async def meet(request: StepRequest) -> dict[str, Any]:
        running.add(request.step_id)
        if len(running) == BRANCHES:
            all_running.set()
        try:
            await asyncio.wait_for(all_running.wait(), timeout=20)
        except TimeoutError:
            raise StepFailure("alone", f"only {sorted(running)} ever ran together") from None
        return {"met": sorted(running)}

    workflow_id = f"parallel-{topic_prefix}"
    branches = [f"b{n}" for n in range(BRANCHES)]
    async with running_system(system_settings, TestSteps({"api_call": meet}), ["api_call"]) as system:
        await system.register(
            {
                "id": workflow_id,
                "name": "parallel",
                "start_step_id": "fan",
                "steps": [
                    {"id": "fan", "type": "parallel_execution", "parallel_steps": branches},
                    *({"id": branch, "type": "api_call", "timeout_seconds": 60} for branch in branches),
                ],
            }
        )
        execution_id = new_id()
        await system.context.bus.publish(
            COMMANDS, StartExecution(execution_id=execution_id, workflow_id=workflow_id)
        )
        state = await system.wait_for_status(execution_id, "completed", "failed")
    assert state.status == "completed", state.error
    for branch in branches:
        assert state.steps[branch].output == {"met": branches}
