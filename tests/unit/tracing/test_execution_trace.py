"""Derived span ids: stable for one execution, distinct between executions, steps, attempts and
resumes; a recorded span gets exactly its derived ids and the spans inside it random ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flowbus_shared.execution_trace import (
    attempt_context,
    attempt_span_id_of,
    parse_traceparent,
    recorded_span,
    root_context,
    trace_id_of,
    traceparent,
)
from flowbus_shared.telemetry import tracer


def test_ids_are_stable_and_distinct() -> None:
    assert trace_id_of("e1") == trace_id_of("e1")
    assert len({trace_id_of("e1"), trace_id_of("e2"), trace_id_of("e1", 1)}) == 3
    assert attempt_span_id_of("e1", "a", 1) != attempt_span_id_of("e1", "a", 2)
    assert attempt_span_id_of("e1", "a", 1) != attempt_span_id_of("e1", "b", 1)
    assert 0 < trace_id_of("e1") < 2**128
    assert 0 < attempt_span_id_of("e1", "a", 1) < 2**64


def test_traceparent_round_trips() -> None:
    root = root_context("e1")
    parsed = parse_traceparent(traceparent(root))
    assert parsed is not None
    assert (parsed.trace_id, parsed.span_id, parsed.trace_flags) == (
        root.trace_id,
        root.span_id,
        root.trace_flags,
    )


@pytest.mark.parametrize(
    "value",
    [None, "", "garbage", "00-xyz-abc-01", f"00-{'0' * 32}-{'1' * 16}-01", f"00-{'1' * 32}-{'0' * 16}-01"],
)
def test_a_malformed_traceparent_names_nothing(value: str | None) -> None:
    assert parse_traceparent(value) is None


def test_a_recorded_span_has_its_derived_ids_and_its_children_random_ones(
    spans: InMemorySpanExporter,
) -> None:
    root = root_context("exec-unit")
    attempt = attempt_context(root, "exec-unit", "step", 3)
    started = datetime.now(UTC) - timedelta(seconds=2)
    with (
        recorded_span("step x", attempt, parent=root, started=started),
        tracer().start_as_current_span("inside"),
    ):
        pass
    finished = {s.name: s for s in spans.get_finished_spans()}
    step, inside = finished["step x"], finished["inside"]
    assert (step.context.trace_id, step.context.span_id) == (root.trace_id, attempt.span_id)
    assert step.parent is not None
    assert step.parent.span_id == root.span_id
    assert step.start_time == int(started.timestamp() * 1_000_000_000)
    assert inside.parent is not None
    assert inside.parent.span_id == attempt.span_id
    assert inside.context.span_id != attempt.span_id


def test_a_root_span_starts_the_derived_trace(spans: InMemorySpanExporter) -> None:
    root = root_context("exec-root")
    with recorded_span("execution w", root, parent=None):
        pass
    (span,) = [s for s in spans.get_finished_spans() if s.name == "execution w"]
    assert span.parent is None
    assert (span.context.trace_id, span.context.span_id) == (root.trace_id, root.span_id)
