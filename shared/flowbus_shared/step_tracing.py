"""The span around one step attempt: a child of the consumer span that delivered its request,
parent of whatever the handler does (HTTP calls, provider calls, governance checks)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.trace import Span, Status, StatusCode

from flowbus_shared.schemas import StepRequest, StepResult
from flowbus_shared.telemetry import tracer


@contextmanager
def step_span(request: StepRequest, queue: str) -> Iterator[Span]:
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
    with tracer().start_as_current_span(f"step {request.step_type}", attributes=attributes) as span:
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
