"""Approvals, cancel, resume, fork and step timeouts through Kafka and PostgreSQL; each ends
with the replay check (the log folds to the live state)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flowbus_shared.schemas import (
    ApproveStep,
    CancelExecution,
    ForkExecution,
    RejectStep,
    ResumeExecution,
    StartExecution,
    StepRequest,
    new_id,
)
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepFailure
from flowbus_shared.topics import COMMANDS
from tests.support.system import System, TestSteps, running_system


def steps(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return list(items)


async def start(system: System, workflow_id: str, **input_: Any) -> str:
    execution_id = new_id()
    await system.context.bus.publish(
        COMMANDS, StartExecution(execution_id=execution_id, workflow_id=workflow_id, input=input_)
    )
    return execution_id


async def replay_matches(system: System, execution_id: str) -> None:
    live = await system.orchestrator.engine.load(execution_id)
    assert (await system.orchestrator.engine.replay(execution_id)).to_dict() == live.to_dict()


async def test_approve_continues_and_reject_fails_with_the_reason(
    system_settings: FlowbusSettings, topic_prefix: str
) -> None:
    workflow_id = f"approve-{topic_prefix}"
    async with running_system(system_settings, TestSteps(), ["data_transformation"]) as system:
        await system.register(
            {
                "id": workflow_id,
                "name": "approve",
                "start_step_id": "gate",
                "steps": steps(
                    {"id": "gate", "type": "approval_required", "next_steps": ["after"]},
                    {"id": "after", "type": "data_transformation", "config": {"output": {"done": True}}},
                ),
            }
        )
        approved, rejected = await start(system, workflow_id), await start(system, workflow_id)
        for execution_id in (approved, rejected):
            await system.wait_for_status(execution_id, "waiting_approval")
        bus = system.context.bus
        await bus.publish(COMMANDS, ApproveStep(execution_id=approved, step_id="gate", approved_by="ann"))
        await bus.publish(
            COMMANDS,
            RejectStep(execution_id=rejected, step_id="gate", rejected_by="bob", reason="budget frozen"),
        )
        assert (await system.wait_for_status(approved, "completed")).steps["gate"].output == {
            "approved_by": "ann",
            "comment": "",
        }
        failed = await system.wait_for_status(rejected, "failed")
        assert failed.error is not None
        assert failed.error["message"] == "budget frozen"
        for execution_id in (approved, rejected):
            await replay_matches(system, execution_id)


async def test_cancel_stops_scheduling_and_removes_the_timers(
    system_settings: FlowbusSettings, topic_prefix: str
) -> None:
    workflow_id = f"cancel-{topic_prefix}"
    async with running_system(system_settings, TestSteps(), ["data_transformation"]) as system:
        await system.register(
            {
                "id": workflow_id,
                "name": "cancel",
                "start_step_id": "wait",
                "steps": steps(
                    {
                        "id": "wait",
                        "type": "delay",
                        "config": {"delay_seconds": 3600},
                        "next_steps": ["after"],
                    },
                    {"id": "after", "type": "data_transformation"},
                ),
            }
        )
        execution_id = await start(system, workflow_id)
        await system.wait_for_status(execution_id, "running")
        await system.context.bus.publish(
            COMMANDS, CancelExecution(execution_id=execution_id, reason="customer left", requested_by="ops")
        )
        state = await system.wait_for_status(execution_id, "cancelled")
        assert state.error is not None
        assert state.error["by"] == "ops"
        later = datetime.now(UTC) + timedelta(days=2)
        due = await system.context.store.claim_due_timers(later, limit=10_000)
        assert [t for t in due if t.stream_id == execution_id] == []
        await replay_matches(system, execution_id)


async def test_a_failed_execution_resumes_from_its_failed_step(
    system_settings: FlowbusSettings, topic_prefix: str
) -> None:
    async def broken_once(request: StepRequest) -> dict[str, Any]:
        if request.attempt == 1:
            raise StepFailure("invalid_input", "the CRM refused the record")
        return {"created": True}

    workflow_id = f"resume-{topic_prefix}"
    test_steps = TestSteps({"api_call": broken_once})
    async with running_system(system_settings, test_steps, ["data_transformation", "api_call"]) as system:
        await system.register(
            {
                "id": workflow_id,
                "name": "resume",
                "start_step_id": "a",
                "steps": steps(
                    {
                        "id": "a",
                        "type": "data_transformation",
                        "config": {"output": {"x": 1}},
                        "next_steps": ["crm"],
                    },
                    {"id": "crm", "type": "api_call", "next_steps": ["z"]},
                    {
                        "id": "z",
                        "type": "data_transformation",
                        "config": {"output": {"created": "{{crm.created}}"}},
                    },
                ),
            }
        )
        execution_id = await start(system, workflow_id)
        failed = await system.wait_for_status(execution_id, "failed")
        assert failed.error is not None
        assert failed.error["step_id"] == "crm"
        await system.context.bus.publish(
            COMMANDS, ResumeExecution(execution_id=execution_id, requested_by="ops")
        )
        state = await system.wait_for_status(execution_id, "completed")
        assert state.steps["crm"].attempt == 2
        assert state.steps["a"].visits == 1  # not run again
        assert state.steps["z"].output == {"created": True}
        await replay_matches(system, execution_id)


async def test_a_fork_starts_from_just_before_its_step_and_leaves_the_parent_alone(
    system_settings: FlowbusSettings, topic_prefix: str
) -> None:
    workflow_id = f"fork-{topic_prefix}"
    async with running_system(system_settings, TestSteps(), ["data_transformation"]) as system:
        await system.register(
            {
                "id": workflow_id,
                "name": "fork",
                "start_step_id": "a",
                "steps": steps(
                    {
                        "id": "a",
                        "type": "data_transformation",
                        "config": {"output": {"n": "{{input.n}}"}},
                        "next_steps": ["b"],
                    },
                    {
                        "id": "b",
                        "type": "data_transformation",
                        "config": {"output": {"label": "{{label}}"}},
                        "next_steps": ["c"],
                    },
                    {"id": "c", "type": "data_transformation", "config": {"output": {"n": "{{a.n}}"}}},
                ),
            }
        )
        parent = await start(system, workflow_id, n=5, label="original")
        await system.wait_for_status(parent, "completed")
        parent_events = len(await system.context.store.read(parent))
        child = new_id()
        await system.context.bus.publish(
            COMMANDS,
            ForkExecution(
                execution_id=child,
                source_execution_id=parent,
                step_id="b",
                variable_overrides={"label": "forked"},
            ),
        )
        state = await system.wait_for_status(child, "completed")
        assert state.steps["b"].output == {"label": "forked"}
        child_scheduled = [
            e.data["step_id"]
            for e in await system.context.store.read(child)
            if e.event_type == "step.scheduled"
        ]
        assert child_scheduled == ["b", "c"]  # a's output is copied, a is not run again
        assert state.steps["a"].output == {"n": 5}  # copied, not re-run
        assert state.parent is not None
        assert state.parent["execution_id"] == parent
        assert len(await system.context.store.read(parent)) == parent_events
        children = await system.orchestrator.projection.children(parent)
        assert [(row["execution_id"], row["fork_step_id"]) for row in children] == [(child, "b")]
        await replay_matches(system, child)


async def test_a_step_without_a_result_times_out_and_is_retried(
    system_settings: FlowbusSettings, topic_prefix: str
) -> None:
    workflow_id = f"timeout-{topic_prefix}"
    # No worker answers the governance queue: only the orchestrator's own timeout can end the step.
    async with running_system(system_settings, TestSteps(), [], with_workers=False) as system:
        await system.register(
            {
                "id": workflow_id,
                "name": "timeout",
                "start_step_id": "check",
                "steps": steps(
                    {
                        "id": "check",
                        "type": "governance_check",
                        "timeout_seconds": 0.5,
                        "retry_policy": {"max_retries": 1, "initial_delay_seconds": 0.1},
                    },
                ),
            }
        )
        execution_id = await start(system, workflow_id)
        state = await system.wait_for_status(execution_id, "failed")
        assert state.error is not None
        assert state.error["error_type"] == "timeout"
        assert state.steps["check"].attempt == 2
        await replay_matches(system, execution_id)
