"""Executions over HTTP: start and wait, idempotency, listing with filters and cursors, events
in pages, stats, and tenant isolation (in-process bus, SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flowbus_shared.schemas import StepRequest
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepFailure
from tests.integration.orchestrator_http.harness import Api, api_system
from tests.support.system import TestSteps


def two_steps(workflow_id: str) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": "Two steps",
        "start_step_id": "shape",
        "steps": [
            {
                "id": "shape",
                "type": "data_transformation",
                "config": {"output": {"total": "{{input.total}}", "customer": "{{input.customer}}"}},
                "next_steps": ["call"],
            },
            {
                "id": "call",
                "type": "api_call",
                "config": {"fail": "{{input.fail}}", "total": "{{shape.total}}"},
            },
        ],
    }


async def call(request: StepRequest) -> dict[str, Any]:
    if request.config.get("fail"):
        raise StepFailure("invalid_input", "told to fail")
    return {"charged": request.config["total"]}


def steps() -> TestSteps:
    return TestSteps({"api_call": call})


async def start(api: Api, workflow_id: str, who: str = "operator", wait: float = 0, **input_: Any) -> Any:
    body = {"workflow_id": workflow_id, "input": {"total": 10, "customer": "c", "fail": False, **input_}}
    return await api[who].post("/v1/executions", params={"wait": wait}, json=body)


async def test_start_and_wait_answers_with_the_outputs(
    sqlite_settings: FlowbusSettings, topic_prefix: str
) -> None:
    async with api_system(
        sqlite_settings, steps(), ["data_transformation", "api_call"], prefix=topic_prefix
    ) as api:
        await api.register(two_steps("pay"))
        answered = await start(api, "pay", wait=30, total=42, customer="ada")
        assert answered.status_code == 200, answered.text
        execution = answered.json()
        assert execution["status"] == "completed"
        assert execution["output"] == {"shape": {"total": 42, "customer": "ada"}, "call": {"charged": 42}}
        assert execution["input"] == {"total": 42, "customer": "ada", "fail": False}
        call_step = execution["steps"]["call"]
        assert (call_step["status"], call_step["attempts"], call_step["error"]) == ("succeeded", 1, None)
        assert call_step["started_at"] <= call_step["finished_at"]
        assert execution["started_at"] <= execution["finished_at"]
        assert (execution["workflow_id"], execution["workflow_version"]) == ("pay", 1)

        accepted = await start(api, "pay")
        assert accepted.status_code == 202
        body = accepted.json()
        assert body["status"] == "accepted"
        assert body["links"] == {"self": f"/v1/executions/{body['execution_id']}"}
        done = await api.wait_status(body["execution_id"], "completed")
        assert done["output"]["call"] == {"charged": 10}

        failed = await start(api, "pay", wait=30, fail=True)
        assert (failed.status_code, failed.json()["status"]) == (200, "failed")
        assert failed.json()["error"]["error_type"] == "invalid_input"

        unknown = await api["operator"].post("/v1/executions", json={"workflow_id": "nope"})
        assert unknown.status_code == 404
        assert (await api["viewer"].get("/v1/executions/bad id!")).status_code == 422
        assert (await api["viewer"].get("/v1/executions/0123abcd")).status_code == 404


async def test_an_idempotency_key_starts_one_execution(
    sqlite_settings: FlowbusSettings, topic_prefix: str
) -> None:
    async with api_system(
        sqlite_settings, steps(), ["data_transformation", "api_call"], prefix=topic_prefix
    ) as api:
        await api.register(two_steps("pay"))
        await api.register({**two_steps("other"), "name": "Other"})
        body = {
            "workflow_id": "pay",
            "input": {"total": 1, "customer": "c", "fail": False},
            "idempotency_key": "order-7",
        }
        first = await api["operator"].post("/v1/executions", params={"wait": 30}, json=body)
        again = await api["operator"].post("/v1/executions", params={"wait": 30}, json=body)
        assert first.status_code == again.status_code == 200
        assert first.json()["execution_id"] == again.json()["execution_id"]
        listed = (await api["viewer"].get("/v1/executions", params={"workflow_id": "pay"})).json()
        assert [e["execution_id"] for e in listed["executions"]] == [first.json()["execution_id"]]
        clash = await api["operator"].post("/v1/executions", json={**body, "workflow_id": "other"})
        assert clash.status_code == 409
        # Another tenant's same key is another execution.
        await api.register(two_steps("pay"), who="b_admin")
        theirs = await api["b_admin"].post("/v1/executions", json=body)
        assert theirs.json()["execution_id"] != first.json()["execution_id"]


async def test_listing_filters_and_pages(sqlite_settings: FlowbusSettings, topic_prefix: str) -> None:
    async with api_system(
        sqlite_settings, steps(), ["data_transformation", "api_call"], prefix=topic_prefix
    ) as api:
        await api.register(two_steps("pay"))
        await api.register({**two_steps("refund"), "name": "Refund"})
        before = datetime.now(UTC) - timedelta(seconds=1)
        ids = []
        for workflow_id, fail in (
            ("pay", False),
            ("pay", True),
            ("pay", False),
            ("refund", False),
            ("pay", False),
        ):
            answered = await start(api, workflow_id, wait=30, fail=fail)
            ids.append(answered.json()["execution_id"])

        pages, cursor = [], None
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await api["viewer"].get("/v1/executions", params=params)).json()
            pages.append([e["execution_id"] for e in page["executions"]])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [len(p) for p in pages] == [2, 2, 1]
        assert [i for p in pages for i in p] == list(reversed(ids))  # newest first

        def listed(**params: Any) -> Any:
            return api["viewer"].get("/v1/executions", params={"limit": 500, **params})

        failed = (await listed(status="failed")).json()["executions"]
        assert [e["execution_id"] for e in failed] == [ids[1]]
        assert failed[0]["status"] == "failed"
        refunds = (await listed(workflow_id="refund")).json()["executions"]
        assert [e["execution_id"] for e in refunds] == [ids[3]]
        assert len((await listed(since=before.isoformat())).json()["executions"]) == 5
        assert (await listed(until=before.isoformat())).json()["executions"] == []
        assert (await listed(since="yesterday")).status_code == 422
        summary = (await listed()).json()["executions"][0]
        assert set(summary) == {
            "execution_id",
            "workflow_id",
            "workflow_version",
            "status",
            "started_at",
            "finished_at",
            "parent_execution_id",
            "fork_step_id",
            "version",
        }
        # Tenant B sees none of A's executions, in lists, reads, events, lineage or stats.
        assert (await api["b_admin"].get("/v1/executions")).json() == {"executions": [], "next_cursor": None}
        for path in ("", "/events", "/lineage"):
            assert (await api["b_admin"].get(f"/v1/executions/{ids[0]}{path}")).status_code == 404
        assert (await api["b_admin"].get("/v1/stats")).json()["executions"]["total"] == 0

        stats = (await api["viewer"].get("/v1/stats")).json()
        assert stats["executions"] == {"total": 5, "by_status": {"completed": 4, "failed": 1}}
        by_workflow = {row["workflow_id"]: row for row in stats["by_workflow"]}
        assert {k: by_workflow["pay"][k] for k in ("total", "completed", "failed")} == {
            "total": 4,
            "completed": 3,
            "failed": 1,
        }
        assert 0 <= by_workflow["pay"]["p50_seconds"] <= by_workflow["pay"]["p95_seconds"]
        only_refund = (await api["viewer"].get("/v1/stats", params={"workflow_id": "refund"})).json()
        assert only_refund["executions"] == {"total": 1, "by_status": {"completed": 1}}


async def test_events_come_in_pages(sqlite_settings: FlowbusSettings, topic_prefix: str) -> None:
    async with api_system(
        sqlite_settings, steps(), ["data_transformation", "api_call"], prefix=topic_prefix
    ) as api:
        await api.register(two_steps("pay"))
        execution = (await start(api, "pay", wait=30)).json()
        events: list[dict[str, Any]] = []
        after, pages = 0, 0
        while after is not None:
            page = (
                await api["viewer"].get(
                    f"/v1/executions/{execution['execution_id']}/events", params={"after": after, "limit": 3}
                )
            ).json()
            assert len(page["events"]) <= 3
            events += page["events"]
            after, pages = page["next_after"], pages + 1
        assert [e["version"] for e in events] == list(range(1, execution["version"] + 1))
        assert pages == -(-execution["version"] // 3)
        assert events[0]["event_type"] == "execution.started"
        assert events[0]["data"]["tenant_id"] == api.tenant_a
        assert events[-1]["event_type"] == "execution.completed"
        assert all(e["recorded_at"].endswith("+00:00") for e in events)
