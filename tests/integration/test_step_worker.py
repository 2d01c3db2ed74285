"""A step worker runs each attempt once: a redelivered request (same idempotency key) is
answered from the recorded result, on every database backend."""

from __future__ import annotations

from typing import Any

from flowbus_shared.attempts import AttemptLog
from flowbus_shared.bus import Delivery, MemoryBus
from flowbus_shared.schemas import StepRequest, StepResult
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepWorker
from flowbus_shared.store import open_store
from flowbus_shared.topics import STEP_RESULTS, STEPS_EXECUTOR
from tests.support.waiting import wait_until


async def test_a_redelivered_request_does_not_run_again(
    memory_settings: FlowbusSettings, database_url: str
) -> None:
    store = await open_store(database_url)
    bus = MemoryBus(memory_settings)
    runs: list[int] = []

    async def send_invoice(request: StepRequest) -> dict[str, Any]:
        runs.append(request.attempt)
        return {"invoice": f"INV-{len(runs)}"}

    worker = StepWorker(
        name="executor",
        bus=bus,
        queue=STEPS_EXECUTOR,
        group="executor",
        handlers={"api_call": send_invoice},
        attempts=AttemptLog(store.engine),
    )
    results: list[StepResult] = []

    async def collect(result: StepResult, _delivery: Delivery) -> None:
        results.append(result)

    worker.register()
    bus.subscribe(STEP_RESULTS, group="orchestrator", handler=collect)
    await bus.start()
    try:
        request = StepRequest(
            execution_id="e1", workflow_id="w", step_id="bill", step_type="api_call", attempt=1
        )
        await bus.publish(STEPS_EXECUTOR, request)
        await bus.publish(STEPS_EXECUTOR, request)  # e.g. the outbox relay crashed before deleting its row
        await wait_until(lambda: len(results) == 2, message="two answers")
        assert runs == [1]
        assert results[0] == results[1]
        assert results[0].output == {"invoice": "INV-1"}
        assert results[0].message_id == "result:e1:bill:1"  # the orchestrator drops the copy by id
        retry = request.model_copy(update={"attempt": 2, "message_id": "another"})
        await bus.publish(STEPS_EXECUTOR, retry)  # a new attempt is a new key: it runs
        await wait_until(lambda: len(results) == 3, message="the second attempt's answer")
        assert runs == [1, 2]
    finally:
        await bus.stop()
        await store.close()
