"""Traces across time: a retry after a durable timer stays in its execution's trace; a resume
starts a new trace linked to the one before; a fork starts its own, linked to its source's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flowbus_shared.execution_trace import root_span_id_of, trace_id_of
from flowbus_shared.schemas import ForkExecution, ResumeExecution, StartExecution, StepRequest, new_id
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepFailure
from flowbus_shared.topics import COMMANDS
from tests.support.system import System, TestSteps, running_system


@pytest.fixture
def settings(memory_settings: FlowbusSettings, tmp_path: Path) -> FlowbusSettings:
    return memory_settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'flowbus.db'}"}
    )


def _trace(spans: InMemorySpanExporter, execution_id: str, resumes: int = 0) -> list[ReadableSpan]:
    trace_id = trace_id_of(execution_id, resumes)
    return [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]


def _connected(spans: list[ReadableSpan]) -> ReadableSpan:
    """The one root of `spans`, failing if any span's parent is missing."""
    by_id = {s.context.span_id: s for s in spans}
    roots = [s for s in spans if s.parent is None]
    assert len(roots) == 1, [s.name for s in roots]
    for span in spans:
        if span.parent is not None:
            assert span.parent.span_id in by_id, f"{span.name}: parent not in the trace"
    return roots[0]


def _linked_to(span: ReadableSpan, execution_id: str, resumes: int = 0) -> bool:
    return any(
        link.context.trace_id == trace_id_of(execution_id, resumes)
        and link.context.span_id == root_span_id_of(execution_id, resumes)
        for link in span.links
    )


async def _start(system: System, workflow_id: str) -> str:
    execution_id = new_id()
    await system.context.bus.publish(
        COMMANDS, StartExecution(execution_id=execution_id, workflow_id=workflow_id, input={})
    )
    return execution_id


WORKFLOW = {
    "id": "lineage",
    "name": "lineage",
    "start_step_id": "a",
    "steps": [
        {"id": "a", "type": "data_transformation", "config": {"output": {"x": 1}}, "next_steps": ["crm"]},
        {
            "id": "crm",
            "type": "api_call",
            "retry_policy": {"max_retries": 1, "initial_delay_seconds": 0.05},
            "next_steps": ["z"],
        },
        {"id": "z", "type": "data_transformation", "config": {"output": {"done": True}}},
    ],
}


async def test_a_retry_resume_and_fork_keep_their_traces_whole_and_linked(
    settings: FlowbusSettings, spans: InMemorySpanExporter
) -> None:
    calls: dict[str, int] = {}

    async def crm(request: StepRequest) -> dict[str, Any]:
        calls[request.execution_id] = calls.get(request.execution_id, 0) + 1
        if request.attempt <= 2:  # the first attempt and its retry fail; a resume succeeds
            raise StepFailure("unavailable", "the CRM is down", retryable=True)
        return {"created": True}

    steps = TestSteps({"api_call": crm})
    async with running_system(settings, steps, ["data_transformation", "api_call"]) as system:
        await system.register(WORKFLOW)
        execution_id = await _start(system, "lineage")
        await system.wait_for_status(execution_id, "failed")

        # The retry went through a durable timer and is still in the first trace, with the root.
        first = _trace(spans, execution_id)
        root = _connected(first)
        assert root.name == "execution lineage"
        attempts = [s for s in first if s.name == "step api_call"]
        assert sorted(int(str((s.attributes or {})["flowbus.step.attempt"])) for s in attempts) == [1, 2]
        assert all(s.parent is not None and s.parent.span_id == root.context.span_id for s in attempts)
        # The timer that fired the retry was sent under the root too (recorded when it was set).
        timer_sends = [s for s in first if s.name.startswith("send ") and s.name.endswith("commands")]
        assert [s.parent.span_id for s in timer_sends if s.parent] == [root.context.span_id]

        await system.context.bus.publish(COMMANDS, ResumeExecution(execution_id=execution_id))
        await system.wait_for_status(execution_id, "completed")
        resumed = _trace(spans, execution_id, resumes=1)
        resumed_root = _connected(resumed)
        assert _linked_to(resumed_root, execution_id, resumes=0)
        assert (resumed_root.attributes or {})["flowbus.execution.resumes"] == 1
        assert {s.name for s in resumed} >= {"step api_call", "step data_transformation"}

        child = new_id()
        await system.context.bus.publish(
            COMMANDS, ForkExecution(execution_id=child, source_execution_id=execution_id, step_id="z")
        )
        await system.wait_for_status(child, "completed")
        forked_root = _connected(_trace(spans, child))
        # Forked from step z, reached after the resume: linked to the source's second trace.
        assert _linked_to(forked_root, execution_id, resumes=1)
        assert (forked_root.attributes or {})["flowbus.execution.parent_id"] == execution_id
