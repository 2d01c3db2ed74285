"""Changing executions over HTTP: fork with overrides and its lineage, resume after a failure,
approve and reject a waiting step (409 when it is not waiting), cancel."""

from __future__ import annotations

from typing import Any

from flowbus_shared.schemas import StepRequest
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepFailure
from tests.integration.orchestrator_http.harness import api_system
from tests.support.system import TestSteps

STEP_TYPES = ["data_transformation", "api_call"]


def greeting_chain(workflow_id: str) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": "Greeting chain",
        "start_step_id": "first",
        "steps": [
            {
                "id": "first",
                "type": "data_transformation",
                "config": {"output": {"seen": "{{input.name}}"}},
                "next_steps": ["second"],
            },
            {
                "id": "second",
                "type": "data_transformation",
                "config": {"output": {"said": "{{greeting}} {{first.seen}}"}},
            },
        ],
    }


def approval_flow(workflow_id: str) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": "Approval",
        "start_step_id": "prepare",
        "steps": [
            {
                "id": "prepare",
                "type": "data_transformation",
                "config": {"output": {"ok": True}},
                "next_steps": ["approve"],
            },
            {"id": "approve", "type": "approval_required", "config": {}, "next_steps": ["finish"]},
            {"id": "finish", "type": "data_transformation", "config": {"output": {"done": True}}},
        ],
    }


async def test_a_fork_from_a_step_with_overrides_and_its_lineage(
    sqlite_settings: FlowbusSettings, topic_prefix: str
) -> None:
    async with api_system(sqlite_settings, TestSteps(), STEP_TYPES, prefix=topic_prefix) as api:
        await api.register(greeting_chain("greet"))
        parent = await api["operator"].post(
            "/v1/executions",
            params={"wait": 30},
            json={"workflow_id": "greet", "input": {"name": "ada", "greeting": "hello"}},
        )
        parent_id = parent.json()["execution_id"]
        assert parent.json()["output"]["second"] == {"said": "hello ada"}

        forked = await api["operator"].post(
            f"/v1/executions/{parent_id}/fork",
            params={"wait": 30},
            json={"step_id": "second", "variable_overrides": {"greeting": "hola"}},
        )
        assert forked.status_code == 200, forked.text
        fork = forked.json()
        assert fork["execution_id"] != parent_id
        assert (fork["status"], fork["parent_execution_id"], fork["fork_step_id"]) == (
            "completed",
            parent_id,
            "second",
        )
        assert fork["output"] == {"first": {"seen": "ada"}, "second": {"said": "hola ada"}}
        assert fork["variables"]["greeting"] == "hola"

        lineage = (await api["viewer"].get(f"/v1/executions/{fork['execution_id']}/lineage")).json()
        assert [a["execution_id"] for a in lineage["ancestors"]] == [parent_id]
        assert lineage["children"] == []
        parents_lineage = (await api["viewer"].get(f"/v1/executions/{parent_id}/lineage")).json()
        assert [c["execution_id"] for c in parents_lineage["children"]] == [fork["execution_id"]]
        assert parents_lineage["children"][0]["fork_step_id"] == "second"
        children = (await api["viewer"].get("/v1/executions", params={"parent": parent_id})).json()
        assert [e["execution_id"] for e in children["executions"]] == [fork["execution_id"]]

        unknown_step = await api["operator"].post(
            f"/v1/executions/{parent_id}/fork", json={"step_id": "third"}
        )
        assert unknown_step.status_code == 404
        theirs = await api["b_admin"].post(f"/v1/executions/{parent_id}/fork", json={"step_id": "second"})
        assert theirs.status_code == 404
        viewer = await api["viewer"].post(f"/v1/executions/{parent_id}/fork", json={"step_id": "second"})
        assert viewer.status_code == 403


async def test_resume_after_a_failure(sqlite_settings: FlowbusSettings, topic_prefix: str) -> None:
    async def flaky(request: StepRequest) -> dict[str, Any]:
        if request.attempt == 1:
            raise StepFailure("invalid_input", "the first attempt fails")
        return {"attempt": request.attempt}

    async with api_system(
        sqlite_settings, TestSteps({"api_call": flaky}), STEP_TYPES, prefix=topic_prefix
    ) as api:
        await api.register(
            {
                "id": "flaky",
                "name": "Flaky",
                "start_step_id": "call",
                "steps": [{"id": "call", "type": "api_call", "config": {}}],
            }
        )
        failed = await api["operator"].post(
            "/v1/executions", params={"wait": 30}, json={"workflow_id": "flaky"}
        )
        execution_id = failed.json()["execution_id"]
        assert failed.json()["status"] == "failed"
        assert failed.json()["steps"]["call"]["error"]["message"] == "the first attempt fails"

        resumed = await api["operator"].post(f"/v1/executions/{execution_id}/resume", json={})
        assert resumed.status_code == 202
        assert resumed.json() == {"execution_id": execution_id, "status": "accepted"}
        done = await api.wait_status(execution_id, "completed")
        assert done["steps"]["call"] == {**done["steps"]["call"], "status": "succeeded", "attempts": 2}
        assert done["output"]["call"] == {"attempt": 2}

        again = await api["operator"].post(f"/v1/executions/{execution_id}/resume", json={})
        assert again.status_code == 409
        assert "completed" in again.json()["detail"]


async def test_approve_reject_and_cancel_a_waiting_execution(
    sqlite_settings: FlowbusSettings, topic_prefix: str
) -> None:
    async with api_system(sqlite_settings, TestSteps(), STEP_TYPES, prefix=topic_prefix) as api:
        await api.register(approval_flow("needs_ok"))

        async def waiting() -> str:
            answered = await api["operator"].post(
                "/v1/executions", params={"wait": 30}, json={"workflow_id": "needs_ok"}
            )
            assert answered.status_code == 200, answered.text
            assert answered.json()["status"] == "waiting_approval"
            assert answered.json()["steps"]["approve"]["status"] == "waiting_approval"
            return str(answered.json()["execution_id"])

        approved_id = await waiting()
        base = f"/v1/executions/{approved_id}/steps"
        not_waiting = await api["operator"].post(f"{base}/prepare/approve", json={})
        assert not_waiting.status_code == 409
        assert "not waiting" in not_waiting.json()["detail"]
        assert (await api["operator"].post(f"{base}/nope/approve", json={})).status_code == 404
        assert (await api["b_admin"].post(f"{base}/approve/approve", json={})).status_code == 404
        assert (await api["viewer"].post(f"{base}/approve/approve", json={})).status_code == 403
        approve = await api["operator"].post(f"{base}/approve/approve", json={"comment": "fine"})
        assert approve.status_code == 202
        done = await api.wait_status(approved_id, "completed")
        operator_key = api.tokens["operator"].split("_")[1]
        assert done["steps"]["approve"]["output"] == {"approved_by": f"key:{operator_key}", "comment": "fine"}
        late = await api["operator"].post(f"{base}/approve/approve", json={})
        assert late.status_code == 409

        rejected_id = await waiting()
        reject = await api["operator"].post(
            f"/v1/executions/{rejected_id}/steps/approve/reject", json={"reason": "too expensive"}
        )
        assert reject.status_code == 202
        failed = await api.wait_status(rejected_id, "failed")
        assert failed["steps"]["approve"]["error"]["error_type"] == "rejected"
        assert failed["steps"]["approve"]["error"]["message"] == "too expensive"

        cancelled_id = await waiting()
        cancel = await api["operator"].post(
            f"/v1/executions/{cancelled_id}/cancel", json={"reason": "not needed"}
        )
        assert cancel.status_code == 202
        cancelled = await api.wait_status(cancelled_id, "cancelled")
        assert cancelled["error"]["message"] == "not needed"
        assert (
            await api["operator"].post(f"/v1/executions/{cancelled_id}/cancel", json={})
        ).status_code == 409
        assert (
            await api["b_admin"].post(f"/v1/executions/{cancelled_id}/cancel", json={})
        ).status_code == 404
