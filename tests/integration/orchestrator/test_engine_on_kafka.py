"""Workflows through the real orchestrator service, Kafka and PostgreSQL, with test workers."""

from __future__ import annotations

from typing import Any

from flowbus_shared.bus import Delivery, KafkaBus
from flowbus_shared.schemas import (
    ExecutionEventRecord,
    StartExecution,
    StepRequest,
    TriggerEvent,
    new_id,
)
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepFailure
from flowbus_shared.topics import COMMANDS, EXECUTION_EVENTS, TRIGGERS
from tests.support.system import TestSteps, running_system
from tests.support.waiting import wait_until


def linear(workflow_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": "three steps",
        "start_step_id": "a",
        "steps": [
            {
                "id": "a",
                "type": "data_transformation",
                "config": {"output": {"n": "{{input.n}}"}},
                "next_steps": ["b"],
            },
            {"id": "b", "type": "api_call", "config": {"value": "{{a.n}}"}, "next_steps": ["c"]},
            {"id": "c", "type": "data_transformation", "config": {"output": {"done": True}}},
        ],
        **extra,
    }


async def test_a_workflow_runs_to_completion_and_is_published_as_events(
    system_settings: FlowbusSettings, topic_prefix: str
) -> None:
    steps = TestSteps()
    observed: list[ExecutionEventRecord] = []

    async def observe(record: ExecutionEventRecord, _delivery: Delivery) -> None:
        observed.append(record)

    observer = KafkaBus(system_settings, client_name="observer")
    observer.subscribe(EXECUTION_EVENTS, group="observer", handler=observe)
    await observer.start()
    async with running_system(system_settings, steps, ["data_transformation", "api_call"]) as system:
        await system.register(linear(f"linear-{topic_prefix}"))
        execution_id = new_id()
        await system.context.bus.publish(
            COMMANDS,
            StartExecution(execution_id=execution_id, workflow_id=f"linear-{topic_prefix}", input={"n": 7}),
        )
        state = await system.wait_for_status(execution_id, "completed")
        b_request = next(r for rs in steps.received.values() for r in rs if r.step_id == "b")
        assert b_request.config == {"value": 7}
        assert b_request.idempotency_key == f"{execution_id}:b:1"
        assert state.steps["c"].status == "succeeded"
        await wait_until(
            lambda: any(r.event_type == "execution.completed" for r in observed),
            message="the completion on execution-events",
        )
        versions = [r.version for r in observed if r.execution_id == execution_id]
        assert versions == list(range(1, state.version + 1))
    await observer.stop()


async def test_a_retryable_failure_is_retried_after_a_durable_back_off(
    system_settings: FlowbusSettings, topic_prefix: str
) -> None:
    calls: list[int] = []

    async def flaky(request: StepRequest) -> dict[str, Any]:
        calls.append(request.attempt)
        if request.attempt == 1:
            raise StepFailure("temporary", "try again", retryable=True)
        return {"ok": True}

    steps = TestSteps({"api_call": flaky})
    definition = linear(f"retry-{topic_prefix}")
    definition["steps"][1]["retry_policy"] = {"max_retries": 2, "initial_delay_seconds": 0.2}
    async with running_system(system_settings, steps, ["data_transformation", "api_call"]) as system:
        await system.register(definition)
        execution_id = new_id()
        await system.context.bus.publish(
            COMMANDS, StartExecution(execution_id=execution_id, workflow_id=definition["id"], input={"n": 1})
        )
        state = await system.wait_for_status(execution_id, "completed")
        assert calls == [1, 2]
        assert state.steps["b"].attempt == 2
        events = [e.event_type for e in await system.context.store.read(execution_id)]
        assert events.count("step.failed") == 1


async def test_a_trigger_starts_each_listening_workflow_once(
    system_settings: FlowbusSettings, topic_prefix: str
) -> None:
    steps = TestSteps()
    event_type = f"order.created.{topic_prefix}"
    async with running_system(system_settings, steps, ["data_transformation", "api_call"]) as system:
        for name in ("one", "two"):
            await system.register(linear(f"{name}-{topic_prefix}", triggers=[event_type]))
        await system.register(linear(f"deaf-{topic_prefix}", triggers=["something.else"]))
        trigger = TriggerEvent(event_type=event_type, payload={"n": 3}, idempotency_key="order-42")
        duplicate = TriggerEvent(event_type=event_type, payload={"n": 3}, idempotency_key="order-42")
        await system.context.bus.publish(TRIGGERS, trigger)
        await system.context.bus.publish(TRIGGERS, duplicate)
        projection = system.orchestrator.projection

        async def both_completed() -> bool:
            rows = [
                r for w in ("one", "two") for r in await projection.list(workflow_id=f"{w}-{topic_prefix}")
            ]
            return len(rows) == 2 and all(r["status"] == "completed" for r in rows)

        await wait_until(both_completed, message="both listening workflows to complete")
        assert await projection.list(workflow_id=f"deaf-{topic_prefix}") == []
        for name in ("one", "two"):
            assert len(await projection.list(workflow_id=f"{name}-{topic_prefix}")) == 1


async def test_a_delay_survives_a_restart_of_every_process(
    system_settings: FlowbusSettings, topic_prefix: str
) -> None:
    steps = TestSteps()
    definition = {
        "id": f"delayed-{topic_prefix}",
        "name": "delayed",
        "start_step_id": "wait",
        "steps": {
            "wait": {"type": "delay", "config": {"delay_seconds": 2}, "next_steps": ["after"]},
            "after": {"type": "data_transformation", "config": {"output": {"woke": True}}},
        },
    }
    execution_id = new_id()
    async with running_system(system_settings, steps, ["data_transformation"]) as system:
        await system.register(definition)
        await system.context.bus.publish(
            COMMANDS, StartExecution(execution_id=execution_id, workflow_id=definition["id"])
        )
        await wait_until(lambda: _is_waiting(system, execution_id), message="the delay to start")
    # everything is down while the timer comes due; a new set of processes picks it up
    async with running_system(system_settings, steps, ["data_transformation"]) as system:
        state = await system.wait_for_status(execution_id, "completed", within=30)
        assert state.steps["after"].output == {"woke": True}


async def _is_waiting(system: Any, execution_id: str) -> bool:
    state = await system.state(execution_id)
    return bool(state.steps.get("wait") and state.steps["wait"].status == "waiting")
