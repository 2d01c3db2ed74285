"""The HTTP API on the real thing: Kafka and PostgreSQL. A trigger over HTTP starts the
workflow listening for it; start-and-wait, approve, resume, fork and cancel all go through
`flowbus.commands` to the orchestrator."""

from __future__ import annotations

from typing import Any

import pytest

from flowbus_shared.bus import ensure_topics
from flowbus_shared.schemas import StepRequest
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepFailure
from tests.integration.orchestrator_http.harness import api_system
from tests.support.system import TestSteps

ORDER_FLOW = """
id: order_flow
name: Order flow
triggers: [order_placed]
start_step_id: price
steps:
  price:
    type: data_transformation
    config: {output: {total: "{{input.total}}", label: "{{label}}"}}
    next_steps: [manager]
  manager:
    type: approval_required
    next_steps: [charge]
  charge:
    type: api_call
    config: {total: "{{price.total}}", label: "{{label}}"}
"""


@pytest.fixture
async def kafka_pg_settings(kafka_settings: FlowbusSettings, pg_url: str) -> FlowbusSettings:
    settings = kafka_settings.model_copy(update={"database_url": pg_url, "max_deliveries": 5})
    await ensure_topics(settings)
    return settings


async def test_the_api_drives_executions_over_kafka(
    kafka_pg_settings: FlowbusSettings, topic_prefix: str
) -> None:
    charges: list[int] = []

    async def charge(request: StepRequest) -> dict[str, Any]:
        if request.config["total"] < 0:
            raise StepFailure("invalid_input", "a negative total")
        if request.config["total"] == 13 and request.attempt == 1:
            raise StepFailure("invalid_input", "unlucky the first time")
        charges.append(request.config["total"])
        return {"charged": request.config["total"], "label": request.config["label"]}

    steps = TestSteps({"api_call": charge})
    async with api_system(
        kafka_pg_settings, steps, ["data_transformation", "api_call"], prefix=topic_prefix
    ) as api:
        created = await api["admin"].post(
            "/v1/workflows", content=ORDER_FLOW, headers={"content-type": "application/x-yaml"}
        )
        assert created.status_code == 201, created.text

        # A trigger over HTTP starts the workflow listening for it; it waits for the manager.
        triggered = await api["operator"].post(
            "/v1/triggers",
            json={
                "event_type": "order_placed",
                "payload": {"total": 100, "label": "big"},
                "idempotency_key": "o-1",
            },
        )
        assert triggered.status_code == 202, triggered.text
        [order] = triggered.json()["execution_ids"]
        waiting = await api.wait_status(order, "waiting_approval")
        assert waiting["input"]["event_type"] == "order_placed"
        approve = await api["operator"].post(
            f"/v1/executions/{order}/steps/manager/approve", json={"comment": "ok"}
        )
        assert approve.status_code == 202
        done = await api.wait_status(order, "completed")
        assert done["output"]["charge"] == {"charged": 100, "label": "big"}
        repeated = await api["operator"].post(
            "/v1/triggers",
            json={"event_type": "order_placed", "payload": {"total": 100}, "idempotency_key": "o-1"},
        )
        assert repeated.json()["execution_ids"] == [order]  # the same trigger starts nothing new

        # Fork the finished order before the charge, with another label.
        forked = await api["operator"].post(
            f"/v1/executions/{order}/fork",
            params={"wait": 60},
            json={"step_id": "charge", "variable_overrides": {"label": "relabelled"}},
        )
        assert forked.status_code == 200, forked.text
        assert forked.json()["parent_execution_id"] == order
        # The fork copies price's output from before the fork point; charge runs again, relabelled.
        assert forked.json()["output"]["price"] == {"total": 100, "label": "big"}
        assert forked.json()["output"]["charge"] == {"charged": 100, "label": "relabelled"}
        assert forked.json()["variables"]["label"] == "relabelled"

        # Start and wait; the charge fails once, then resumes to completion.
        started = await api["operator"].post(
            "/v1/executions",
            params={"wait": 60},
            json={"workflow_id": "order_flow", "input": {"total": 13, "label": "retry"}},
        )
        assert (started.status_code, started.json()["status"]) == (200, "waiting_approval")
        unlucky = started.json()["execution_id"]
        await api["operator"].post(f"/v1/executions/{unlucky}/steps/manager/approve", json={})
        failed = await api.wait_status(unlucky, "failed")
        assert failed["error"]["message"] == "unlucky the first time"
        assert (await api["operator"].post(f"/v1/executions/{unlucky}/resume", json={})).status_code == 202
        resumed = await api.wait_status(unlucky, "completed")
        assert resumed["steps"]["charge"]["attempts"] == 2

        # Cancel one that waits for the manager: nothing is charged.
        pending = await api["operator"].post(
            "/v1/executions",
            params={"wait": 60},
            json={"workflow_id": "order_flow", "input": {"total": 7, "label": "never"}},
        )
        cancel_id = pending.json()["execution_id"]
        assert (
            await api["operator"].post(f"/v1/executions/{cancel_id}/cancel", json={"reason": "no"})
        ).status_code == 202
        await api.wait_status(cancel_id, "cancelled")
        assert 7 not in charges

        lineage = (await api["viewer"].get(f"/v1/executions/{order}/lineage")).json()
        assert [c["execution_id"] for c in lineage["children"]] == [forked.json()["execution_id"]]
        stats = (await api["viewer"].get("/v1/stats", params={"workflow_id": "order_flow"})).json()
        assert stats["executions"]["by_status"] == {"cancelled": 1, "completed": 3}
