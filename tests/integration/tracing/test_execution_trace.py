"""One workflow execution on the in-process bus, with the real orchestrator and executor:
its step spans, the Kafka-style send/process spans and the executor's HTTP calls share one
trace and hang together as one tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from flowbus_executor.app import ExecutorService
from flowbus_executor.settings import ExecutorSettings
from flowbus_shared.execution_trace import trace_id_of
from flowbus_shared.runtime import Context, Service
from flowbus_shared.schemas import StartExecution, new_id
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.telemetry import tracer
from flowbus_shared.topics import COMMANDS
from tests.support.http_double import Recorded, http_double
from tests.support.system import TestSteps, running_system


def _executor(context: Context) -> Service:
    return ExecutorService(
        context, ExecutorSettings(api_call_allowed_hosts=["127.0.0.1"], executor_http_enabled=False)
    )


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    """The names from `span` up to the root, failing if a parent is missing."""
    names = [span.name]
    while span.parent is not None:
        span = by_id[span.parent.span_id]  # KeyError: the chain is broken
        names.append(span.name)
    return names


async def test_an_execution_is_one_connected_trace(
    memory_settings: FlowbusSettings, tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    settings = memory_settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'flowbus.db'}"}
    )

    def respond(recorded: Recorded) -> tuple[int, Any]:
        return 200, {"path": recorded.path}

    with http_double(respond) as api:
        async with running_system(
            settings, TestSteps(), ["api_call"], services={"executor": _executor}
        ) as system:
            await system.register(
                {
                    "id": "traced",
                    "name": "traced",
                    "start_step_id": "first",
                    "steps": [
                        {
                            "id": "first",
                            "type": "api_call",
                            "config": {"method": "GET", "url": f"{api.url}/one"},
                            "next_steps": ["second"],
                        },
                        {
                            "id": "second",
                            "type": "api_call",
                            "config": {"method": "GET", "url": f"{api.url}/two"},
                        },
                    ],
                }
            )
            execution_id = new_id()
            with tracer().start_as_current_span("client starts an execution") as root:
                await system.context.bus.publish(
                    COMMANDS, StartExecution(execution_id=execution_id, workflow_id="traced", input={})
                )
            await system.wait_for_status(execution_id, "completed")

    trace_id = trace_id_of(execution_id)
    finished = [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in finished}

    # One root: the execution, in a trace of its own, linked to whoever started it.
    roots = [s for s in finished if s.parent is None]
    assert [s.name for s in roots] == ["execution traced"]
    execution = roots[0]
    assert (execution.attributes or {})["flowbus.execution.id"] == execution_id
    assert (execution.attributes or {})["flowbus.workflow.id"] == "traced"
    assert [link.context.trace_id for link in execution.links] == [root.get_span_context().trace_id]

    # Every span hangs from it: nothing is orphaned, nothing went to another trace.
    for span in finished:
        assert _ancestors(span, by_id)[-1] == "execution traced"

    steps = [s for s in finished if s.name == "step api_call"]
    assert sorted(str((s.attributes or {})["flowbus.step.id"]) for s in steps) == ["first", "second"]
    for step in steps:
        assert _ancestors(step, by_id) == ["step api_call", "execution traced"]  # a child of the root
        assert (step.attributes or {})["flowbus.step.outcome"] == "succeeded"
        below = [s for s in finished if s.parent is not None and s.parent.span_id == step.context.span_id]
        names = sorted(s.name.split(" ")[0] for s in below)
        # The request's send (its process span under that), the HTTP call, the result's send.
        assert names == ["GET", "send", "send"], names
    http = [s for s in finished if s.kind is SpanKind.CLIENT]
    assert len(http) == 2
    for call in api.requests:
        assert int(call.headers["traceparent"].split("-")[1], 16) == trace_id
    # The tree stays flat: the second step is not nested under the first one's result.
    first, second = sorted(steps, key=lambda s: str((s.attributes or {})["flowbus.step.id"]))
    assert first.start_time is not None
    assert second.start_time is not None
    assert first.start_time < second.start_time
    processed = [s for s in finished if s.name.startswith("process ") and s.name.endswith("step-results")]
    assert len(processed) == 2
    assert all(_ancestors(s, by_id)[2] in {"step api_call"} for s in processed)
