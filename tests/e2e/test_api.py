"""The orchestrator's HTTP API driving the running system as a user does: start and wait, read an
execution and its events (which match the stored log), triggers, approve, fork with `?wait`,
resume and cancel; every answer agrees with what the doubles and the log say happened."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.e2e.conftest import E2E
from tests.support.e2e_workflows import api, register, shortened, slack_step, state
from tests.support.waiting import wait_until


async def settled(client: httpx.AsyncClient, execution_id: str, *statuses: str) -> dict[str, Any]:
    """GET /v1/executions/{id} until its status is one of `statuses`."""
    for _ in range(300):
        answer = await client.get(f"/v1/executions/{execution_id}")
        if answer.status_code == 200 and answer.json()["status"] in statuses:
            body: dict[str, Any] = answer.json()
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{execution_id} never became {statuses}: {answer.text}")


async def test_start_and_wait_then_read_the_execution_and_its_events(running: E2E, uid: str) -> None:
    definition = shortened("customer_support_automation")
    await register(running.system, definition)
    customer = f"api-{uid}@example.com"
    start = {
        "workflow_id": "customer_support_automation",
        "input": {
            "text": f"Ticket {uid}. priority=normal; category=general",
            "customer_email": customer,
            "ticket_status_url": f"{running.doubles.apis.url}/tickets/{uid}",
        },
        "idempotency_key": f"api-{uid}",
    }
    async with api(running.system) as client:
        answer = await client.post("/v1/executions", params={"wait": 60}, json=start)
        assert answer.status_code == 200, answer.text
        execution = answer.json()
        assert execution["status"] == "completed"
        again = await client.post("/v1/executions", json=start)  # the same key starts nothing new
        assert again.status_code == 202
        assert again.json()["execution_id"] == execution["execution_id"]
        events, after = [], 0
        while True:
            page = (
                await client.get(
                    f"/v1/executions/{execution['execution_id']}/events", params={"after": after, "limit": 7}
                )
            ).json()
            events += page["events"]
            if page["next_after"] is None:
                break
            after = page["next_after"]
    stored = await running.system.events(execution["execution_id"])
    assert [(e["event_type"], e["data"]) for e in events] == stored
    assert [e["version"] for e in events] == list(range(1, len(stored) + 1))
    folded = await state(running.system, execution["execution_id"])
    assert {step: run["status"] for step, run in execution["steps"].items()} == {
        step: run.status for step, run in folded.steps.items()
    }
    assert execution["steps"]["send_satisfaction_survey"]["status"] == "succeeded"
    assert [m["Subject"] for m in running.doubles.inbox.to(customer)].count("How did we do?") == 1


async def test_a_trigger_through_the_api_names_the_executions_it_starts(running: E2E, uid: str) -> None:
    definition = {
        "id": f"api-trigger-{uid}",
        "name": "api trigger",
        "triggers": [f"api_event_{uid}"],
        "start_step_id": "tell",
        "steps": [slack_step("tell", f"triggered {uid} {{{{input.n}}}}")],
    }
    await register(running.system, definition)
    async with api(running.system) as client:
        answer = await client.post(
            "/v1/triggers", json={"event_type": f"api_event_{uid}", "payload": {"n": 7}}
        )
        assert answer.status_code == 202, answer.text
        (execution_id,) = answer.json()["execution_ids"]
        body = await settled(client, execution_id, "completed", "failed")
        assert body["status"] == "completed"
        assert body["input"] == {"n": 7, "event_type": f"api_event_{uid}"}
    assert running.doubles.slack_texts(f"triggered {uid}") == [f"triggered {uid} 7"]


async def test_approve_fork_and_lineage_through_the_api(running: E2E, uid: str) -> None:
    definition = {
        "id": f"api-approve-{uid}",
        "name": "api approve",
        "start_step_id": "ask",
        "steps": [
            {"id": "ask", "type": "approval_required", "next_steps": ["tell"]},
            slack_step("tell", f"{{{{who}}}} approved {uid}"),
        ],
    }
    await register(running.system, definition)
    async with api(running.system) as client:
        started = await client.post(
            "/v1/executions",
            params={"wait": 30},
            json={"workflow_id": definition["id"], "input": {"who": "ops"}},
        )
        assert started.status_code == 200, started.text
        waiting = started.json()
        assert waiting["status"] == "waiting_approval"
        execution_id = waiting["execution_id"]
        early = await client.post(f"/v1/executions/{execution_id}/steps/tell/approve", json={})
        assert early.status_code == 409  # that step is not waiting for anyone
        approved = await client.post(
            f"/v1/executions/{execution_id}/steps/ask/approve", json={"comment": "yes"}
        )
        assert approved.status_code == 202, approved.text
        done = await settled(client, execution_id, "completed", "failed")
        assert done["steps"]["ask"]["output"]["comment"] == "yes"

        forked = await client.post(
            f"/v1/executions/{execution_id}/fork",
            params={"wait": 30},
            json={"step_id": "tell", "variable_overrides": {"who": "audit"}},
        )
        assert forked.status_code == 200, forked.text
        fork = forked.json()
        assert (fork["status"], fork["parent_execution_id"], fork["fork_step_id"]) == (
            "completed",
            execution_id,
            "tell",
        )
        lineage = (await client.get(f"/v1/executions/{fork['execution_id']}/lineage")).json()
        assert [a["execution_id"] for a in lineage["ancestors"]] == [execution_id]
    assert running.doubles.slack_texts(f"approved {uid}") == [f"ops approved {uid}", f"audit approved {uid}"]


async def test_resume_and_cancel_through_the_api(running: E2E, uid: str) -> None:
    running.doubles.apis_state.broken.add(uid)
    definition = {
        "id": f"api-resume-{uid}",
        "name": "api resume",
        "start_step_id": "call",
        "steps": [
            {
                "id": "call",
                "type": "api_call",
                "config": {"method": "POST", "url": f"{running.doubles.apis.url}/switch/{uid}"},
                "next_steps": ["pause"],
            },
            {"id": "pause", "type": "delay", "config": {"delay_seconds": 3600}},
        ],
    }
    await register(running.system, definition)
    async with api(running.system) as client:
        started = await client.post(
            "/v1/executions", params={"wait": 30}, json={"workflow_id": definition["id"]}
        )
        failed = started.json()
        assert failed["status"] == "failed", started.text
        assert failed["error"]["error_type"] == "bad_request"
        running.doubles.apis_state.broken.discard(uid)
        resumed = await client.post(f"/v1/executions/{failed['execution_id']}/resume", json={})
        assert resumed.status_code == 202, resumed.text
        execution_id = failed["execution_id"]

        async def delayed() -> bool:  # the hour-long delay is what it waits on
            return "pause" in (await state(running.system, execution_id)).active

        await wait_until(delayed, within=30, message="the resumed execution to reach its delay")
        assert (await client.get(f"/v1/executions/{execution_id}")).json()["status"] == "running"
        cancelled = await client.post(
            f"/v1/executions/{execution_id}/cancel", json={"reason": "no longer needed"}
        )
        assert cancelled.status_code == 202, cancelled.text
        body = await settled(client, execution_id, "cancelled")
        assert body["error"]["message"] == "no longer needed"
        again = await client.post(f"/v1/executions/{execution_id}/cancel", json={})
        assert again.status_code == 409
    assert len(running.doubles.api_requests(f"/switch/{uid}")) == 2
