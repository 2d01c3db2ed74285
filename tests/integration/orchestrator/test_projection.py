"""Listing, stats and fork lineage from the executions projection, on SQLite and PostgreSQL
(in-process bus: the projection is what is under test)."""

from __future__ import annotations

from typing import Any

from flowbus_orchestrator.adapters.projection import execution_stats, lineage
from flowbus_shared.schemas import ForkExecution, StartExecution, StepRequest, new_id
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepFailure
from flowbus_shared.topics import COMMANDS
from tests.support.system import TestSteps, running_system


async def fail_on_request(request: StepRequest) -> dict[str, Any]:
    if request.config.get("fail"):
        raise StepFailure("invalid_input", "told to fail")
    return {"ok": True}


async def test_stats_and_lineage(
    memory_settings: FlowbusSettings, database_url: str, topic_prefix: str
) -> None:
    settings = memory_settings.model_copy(update={"database_url": database_url})
    workflow_id = f"stats-{topic_prefix}"
    async with running_system(settings, TestSteps({"api_call": fail_on_request}), ["api_call"]) as system:
        await system.register(
            {
                "id": workflow_id,
                "name": "stats",
                "start_step_id": "a",
                "steps": [
                    {
                        "id": "a",
                        "type": "api_call",
                        "config": {"fail": "{{input.fail}}"},
                        "next_steps": ["b"],
                    },
                    {"id": "b", "type": "api_call", "config": {"fail": False}},
                ],
            }
        )
        ids = []
        for fail in (False, False, False, True):
            execution_id = new_id()
            ids.append(execution_id)
            await system.context.bus.publish(
                COMMANDS,
                StartExecution(execution_id=execution_id, workflow_id=workflow_id, input={"fail": fail}),
            )
        for execution_id in ids:
            await system.wait_for_status(execution_id, "completed", "failed")
        fork, grandchild = new_id(), new_id()
        await system.context.bus.publish(
            COMMANDS, ForkExecution(execution_id=fork, source_execution_id=ids[0], step_id="b")
        )
        await system.wait_for_status(fork, "completed")
        await system.context.bus.publish(
            COMMANDS, ForkExecution(execution_id=grandchild, source_execution_id=fork, step_id="b")
        )
        await system.wait_for_status(grandchild, "completed")

        stats = (await execution_stats(system.context.store.engine, workflow_id))[workflow_id]
        assert stats["total"] == 6
        assert stats["by_status"] == {"completed": 5, "failed": 1}
        assert stats["success_rate"] == 5 / 6
        assert stats["mean_duration_seconds"] > 0
        assert stats["p95_duration_seconds"] > 0
        tree = await lineage(system.orchestrator.projection, grandchild)
        assert tree is not None
        assert tree["execution_id"] == ids[0]
        assert [c["execution_id"] for c in tree["children"]] == [fork]
        assert [c["execution_id"] for c in tree["children"][0]["children"]] == [grandchild]
        assert tree["children"][0]["children"][0]["fork_step_id"] == "b"
