"""Listing, stats and fork lineage from the executions projection, on SQLite and PostgreSQL
(in-process bus: the projection is what is under test)."""

from __future__ import annotations

from typing import Any

from flowbus_orchestrator.adapters.execution_queries import execution_stats, lineage
from flowbus_shared.schemas import ForkExecution, StartExecution, StepRequest, new_id
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepFailure
from flowbus_shared.topics import COMMANDS
from tests.support.system import TestSteps, running_system
from tests.support.waiting import wait_until


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

        engine = system.context.store.engine

        async def projected() -> bool:
            # The projection is written just after each append: it may trail the log briefly.
            stats = await execution_stats(engine, "default", workflow_id=workflow_id)
            return set(stats["executions"]["by_status"]) == {"completed", "failed"}

        await wait_until(projected, message="the projection to catch up")
        stats = await execution_stats(engine, "default", workflow_id=workflow_id)
        assert stats["executions"] == {"total": 6, "by_status": {"completed": 5, "failed": 1}}
        [row] = stats["by_workflow"]
        assert (row["workflow_id"], row["total"], row["completed"], row["failed"]) == (workflow_id, 6, 5, 1)
        assert 0 < row["p50_seconds"] <= row["p95_seconds"]
        # Another tenant sees none of them.
        other = await execution_stats(engine, "other", workflow_id=workflow_id)
        assert other == {"executions": {"total": 0, "by_status": {}}, "by_workflow": []}

        projection = system.orchestrator.projection
        tree = await lineage(projection, "default", grandchild)
        assert tree is not None
        assert [a["execution_id"] for a in tree["ancestors"]] == [fork, ids[0]]
        assert tree["children"] == []
        assert tree["execution"]["fork_step_id"] == "b"
        middle = await lineage(projection, "default", fork)
        assert middle is not None
        assert [c["execution_id"] for c in middle["children"]] == [grandchild]
        assert await lineage(projection, "other", fork) is None
