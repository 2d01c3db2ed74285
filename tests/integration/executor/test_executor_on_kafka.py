"""The executor service on real Kafka and PostgreSQL: a StepRequest in, the remote API
(a loopback double) called once, a StepResult out; a redelivered request is answered
from the record without calling the API again."""

from __future__ import annotations

from typing import Any

import pytest

from flowbus_executor.app import ExecutorService
from flowbus_executor.settings import ExecutorSettings
from flowbus_shared.bus import Delivery, KafkaBus, ensure_topics
from flowbus_shared.runtime import Context, Runtime, Service
from flowbus_shared.schemas import StepRequest, StepResult
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import STEP_RESULTS, STEPS_EXECUTOR
from tests.support.http_double import Recorded, http_double
from tests.support.waiting import wait_until


@pytest.fixture
async def settings(kafka_settings: FlowbusSettings, pg_url: str) -> FlowbusSettings:
    configured = kafka_settings.model_copy(update={"database_url": pg_url})
    await ensure_topics(configured)
    return configured


async def test_a_request_calls_the_api_once_and_answers(settings: FlowbusSettings) -> None:
    def respond(recorded: Recorded) -> tuple[int, Any]:
        return 201, {"id": "repo-1", "name": recorded.body["name"]}

    results: list[StepResult] = []

    async def collect(result: StepResult, _delivery: Delivery) -> None:
        results.append(result)

    with http_double(respond) as api:

        def executor(context: Context) -> Service:
            return ExecutorService(
                context, ExecutorSettings(api_call_allowed_hosts=["127.0.0.1"], executor_http_enabled=False)
            )

        runtime = Runtime(settings, [executor], name="executor-test")
        orchestrator_side = KafkaBus(settings, client_name="results")
        orchestrator_side.subscribe(STEP_RESULTS, group="orchestrator", handler=collect)
        context = await runtime.start()
        await orchestrator_side.start()
        try:
            request = StepRequest(
                execution_id="exec-42",
                workflow_id="wf",
                step_id="create_repo",
                step_type="api_call",
                config={"method": "POST", "url": f"{api.url}/orgs/acme/repos", "json": {"name": "atlas"}},
            )
            await context.bus.publish(STEPS_EXECUTOR, request)
            await wait_until(lambda: len(results) == 1, message="the step result")
            result = results[0]
            assert result.status == "succeeded", result.error
            assert result.output["status"] == 201
            assert result.output["body"] == {"id": "repo-1", "name": "atlas"}
            assert (result.execution_id, result.step_id, result.attempt) == ("exec-42", "create_repo", 1)
            call = api.requests[0]
            assert (call.method, call.path) == ("POST", "/orgs/acme/repos")
            assert call.headers.get("Idempotency-Key") == "exec-42:create_repo:1"

            await context.bus.publish(STEPS_EXECUTOR, request)  # redelivered (same idempotency key)
            await wait_until(lambda: len(results) == 2, message="the answer to the redelivery")
            assert results[1] == result
            assert len(api.requests) == 1
        finally:
            await orchestrator_side.stop()
            await runtime.stop()
