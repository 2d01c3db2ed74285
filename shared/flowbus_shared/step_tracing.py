"""The span of one step attempt: a child of the execution's root span, parent of the request's
send/process spans and of whatever the handler does (HTTP calls, provider calls, governance checks)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry.trace import Span, Status, StatusCode

from flowbus_shared.execution_trace import ROOT_HEADER, attempt_context, parse_traceparent, recorded_span
from flowbus_shared.schemas import StepRequest, StepResult
from flowbus_shared.telemetry import tracer


@contextmanager
def step_span(
    request: StepRequest, queue: str, headers: Mapping[str, str], *, replayed: bool = False
) -> Iterator[Span]:
    """The attempt's span, under the execution's root span that the request names, with the id the
    orchestrator derived for it and starting when it was requested (so the request's send and process
    spans, already parented to it, sit inside). A replayed answer, or a request without a root (sent
    by hand), gets an ordinary span under the current one instead: the attempt's own was emitted the
    first time."""
    attributes: dict[str, str | int] = {
        "flowbus.execution.id": request.execution_id,
        "flowbus.tenant.id": request.tenant_id,
        "flowbus.step.id": request.step_id,
        "flowbus.step.type": request.step_type,
        "flowbus.step.attempt": request.attempt,
        "flowbus.queue": queue,
    }
    if request.workflow_id:
        attributes["flowbus.workflow.id"] = request.workflow_id
    name = f"step {request.step_type}"
    root = parse_traceparent(headers.get(ROOT_HEADER))
    if root is None or replayed:
        with tracer().start_as_current_span(name, attributes=attributes) as span:
            yield span
        return
    attempt = attempt_context(root, request.execution_id, request.step_id, request.attempt)
    with recorded_span(
        name, attempt, parent=root, started=request.occurred_at, attributes=attributes
    ) as span:
        yield span


def record_outcome(span: Span, result: StepResult, *, replayed: bool) -> None:
    """`replayed`: the answer is the recorded result of an attempt that already ran."""
    if replayed:
        span.set_attribute("flowbus.step.outcome", "replayed")
        return
    error = result.error
    if result.status == "succeeded" or error is None:
        span.set_attribute("flowbus.step.outcome", result.status)
        return
    span.set_attribute("flowbus.step.outcome", "timeout" if error.error_type == "timeout" else "failed")
    span.set_attribute("error.type", error.error_type)
    span.set_status(Status(StatusCode.ERROR, error.error_type))
