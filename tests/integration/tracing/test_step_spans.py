"""Each step attempt is a `step <type>` span under the consumer span that delivered it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from flowbus_shared.attempts import AttemptLog
from flowbus_shared.bus import Delivery, MemoryBus
from flowbus_shared.schemas import StepRequest, StepResult
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepFailure, StepWorker
from flowbus_shared.store import open_store
from flowbus_shared.topics import STEP_RESULTS, STEPS_EXECUTOR
from tests.support.waiting import wait_until


@dataclass
class Harness:
    bus: MemoryBus
    results: list[StepResult]


async def _fail(_request: StepRequest) -> dict[str, Any]:
    raise StepFailure("http_error", "the remote said no")


async def _ok(_request: StepRequest) -> dict[str, Any]:
    return {"ok": True}


async def _never_answers(_request: StepRequest) -> dict[str, Any]:
    await asyncio.Event().wait()  # nothing sets it: the step's deadline ends the attempt
    return {}


@pytest.fixture
async def harness(memory_settings: FlowbusSettings, tmp_path: Path) -> AsyncIterator[Harness]:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'flowbus.db'}")
    bus = MemoryBus(memory_settings)
    worker = StepWorker(
        name="executor",
        bus=bus,
        queue=STEPS_EXECUTOR,
        group="executor",
        handlers={"api_call": _ok, "failing": _fail, "stuck": _never_answers},
        attempts=AttemptLog(store.engine),
    )
    results: list[StepResult] = []

    async def collect(result: StepResult, _delivery: Delivery) -> None:
        results.append(result)

    worker.register()
    bus.subscribe(STEP_RESULTS, group="orchestrator", handler=collect)
    await bus.start()
    try:
        yield Harness(bus, results)
    finally:
        await bus.stop()
        await store.close()


def _named(spans: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    return [span for span in spans.get_finished_spans() if span.name.startswith(prefix)]


def _request(step_type: str, timeout_seconds: float = 30.0) -> StepRequest:
    return StepRequest(
        execution_id="e1",
        workflow_id="w-invoices",
        tenant_id="acme",
        step_id="bill",
        step_type=step_type,
        attempt=2,
        timeout_seconds=timeout_seconds,
    )


async def test_a_step_attempt_is_a_child_of_its_consumer_span(
    harness: Harness, spans: InMemorySpanExporter
) -> None:
    await harness.bus.publish(STEPS_EXECUTOR, _request("api_call"))
    await wait_until(lambda: len(harness.results) == 1, message="the step's answer")
    await wait_until(lambda: len(_named(spans, "process ")) == 2, message="both consumer spans")

    (step,) = _named(spans, "step ")
    assert step.name == "step api_call"
    assert step.attributes is not None
    assert dict(step.attributes) == {
        "flowbus.execution.id": "e1",
        "flowbus.workflow.id": "w-invoices",
        "flowbus.tenant.id": "acme",
        "flowbus.step.id": "bill",
        "flowbus.step.type": "api_call",
        "flowbus.step.attempt": 2,
        "flowbus.queue": "steps.executor",
        "flowbus.step.outcome": "succeeded",
    }
    assert step.status.status_code is not StatusCode.ERROR
    consumer = next(s for s in _named(spans, "process ") if s.name.endswith("steps.executor"))
    assert step.parent is not None
    assert consumer.context is not None
    assert step.context is not None
    assert step.parent.span_id == consumer.context.span_id
    # The result it publishes is sent from inside the step span.
    sent = next(s for s in _named(spans, "send ") if s.name.endswith("step-results"))
    assert sent.parent is not None
    assert sent.parent.span_id == step.context.span_id


async def test_a_failed_attempt_has_error_status_and_a_redelivery_is_replayed(
    harness: Harness, spans: InMemorySpanExporter
) -> None:
    request = _request("failing")
    await harness.bus.publish(STEPS_EXECUTOR, request)
    await wait_until(lambda: len(harness.results) == 1, message="the failure")
    await harness.bus.publish(STEPS_EXECUTOR, request)
    await wait_until(lambda: len(_named(spans, "step ")) == 2, message="the redelivery's span")

    first, second = sorted(_named(spans, "step "), key=lambda span: span.start_time or 0)
    assert first.attributes is not None
    assert second.attributes is not None
    assert first.attributes["flowbus.step.outcome"] == "failed"
    assert first.attributes["error.type"] == "http_error"
    assert first.status.status_code is StatusCode.ERROR
    assert second.attributes["flowbus.step.outcome"] == "replayed"
    assert second.status.status_code is not StatusCode.ERROR


async def test_an_attempt_past_its_deadline_is_a_timeout(
    harness: Harness, spans: InMemorySpanExporter
) -> None:
    await harness.bus.publish(STEPS_EXECUTOR, _request("stuck", timeout_seconds=0.05))
    await wait_until(lambda: len(_named(spans, "step ")) == 1, message="the step span")

    (step,) = _named(spans, "step ")
    assert step.attributes is not None
    assert step.attributes["flowbus.step.outcome"] == "timeout"
    assert step.attributes["error.type"] == "timeout"
    assert step.status.status_code is StatusCode.ERROR
