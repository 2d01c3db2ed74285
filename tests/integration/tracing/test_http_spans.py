"""The executor's outbound HTTP calls are client spans under the step span, and the remote
service receives the step's trace context as a W3C `traceparent` header."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from flowbus_executor.app import ExecutorService
from flowbus_executor.settings import ExecutorSettings
from flowbus_shared.runtime import Context, Runtime, Service
from flowbus_shared.schemas import StepRequest
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import STEPS_EXECUTOR
from tests.support.http_double import Recorded, http_double
from tests.support.waiting import wait_until


async def test_an_api_call_carries_the_steps_trace_to_the_remote_service(
    memory_settings: FlowbusSettings, tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    settings = memory_settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'flowbus.db'}"}
    )

    def respond(_recorded: Recorded) -> tuple[int, Any]:
        return 200, {"ok": True}

    def executor(context: Context) -> Service:
        return ExecutorService(
            context, ExecutorSettings(api_call_allowed_hosts=["127.0.0.1"], executor_http_enabled=False)
        )

    with http_double(respond) as api:
        runtime = Runtime(settings, [executor], name="executor-trace-test")
        context = await runtime.start()
        try:
            request = StepRequest(
                execution_id="exec-7",
                workflow_id="wf",
                step_id="fetch",
                step_type="api_call",
                config={"method": "GET", "url": f"{api.url}/orders?api_key=s3cret-value&page=2"},
            )
            await context.bus.publish(STEPS_EXECUTOR, request)
            await wait_until(
                lambda: any(span.name == "step api_call" for span in spans.get_finished_spans()),
                message="the step span",
            )
        finally:
            await runtime.stop()

    finished = spans.get_finished_spans()
    step = next(span for span in finished if span.name == "step api_call")
    (client,) = [span for span in finished if span.kind is SpanKind.CLIENT]
    assert step.attributes is not None
    assert step.attributes["flowbus.step.outcome"] == "succeeded"
    assert client.parent is not None
    assert client.parent.span_id == step.context.span_id
    assert client.context.trace_id == step.context.trace_id

    (call,) = api.requests
    version, trace_id, parent_id, _flags = call.headers["traceparent"].split("-")
    assert version == "00"
    assert int(trace_id, 16) == step.context.trace_id
    assert int(parent_id, 16) == client.context.span_id

    assert client.attributes is not None
    assert client.attributes["http.request.method"] == "GET"
    assert client.attributes["http.response.status_code"] == 200
    recorded_url = str(client.attributes["url.full"])
    assert "s3cret-value" not in recorded_url
    assert recorded_url == f"{api.url}/orders?api_key=REDACTED&page=REDACTED"
