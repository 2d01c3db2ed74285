"""The orchestrator's part of an execution's trace (see flowbus_shared.execution_trace).

It emits the root span `execution <workflow>` when an execution starts (and a new root, in a new
trace, when it resumes), linked to whoever started it and, for a fork or a resume, to the trace it
came from; it emits the spans of the steps it runs itself; and it names the right parents on what it
publishes: a step request names its attempt span, everything else the root.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanContext, Status, StatusCode

from flowbus_orchestrator.domain.state import ExecutionState
from flowbus_shared.bus.headers import outgoing_headers
from flowbus_shared.execution_trace import (
    ROOT_HEADER,
    attempt_context,
    recorded_span,
    root_context,
    traceparent,
)
from flowbus_shared.schemas import Message, StepRequest

# The last event about an orchestrator-run step in one decision says how its attempt ended.
_OUTCOMES = {
    "step.succeeded": "succeeded",
    "step.failed": "failed",
    "step.skipped": "skipped",
    "step.waiting": "waiting",
    "approval.requested": "waiting_approval",
    "branches.started": "branched",
}


def root_of(state: ExecutionState) -> SpanContext:
    return root_context(state.execution_id, state.resumes)


def trace_id_of(state: ExecutionState) -> str:
    """The W3C trace id of the execution's current trace, for operators to look it up."""
    return f"{root_of(state).trace_id:032x}"


def request_headers(state: ExecutionState, request: StepRequest) -> dict[str, str]:
    root = root_of(state)
    attempt = attempt_context(root, request.execution_id, request.step_id, request.attempt)
    return outgoing_headers(request, {"traceparent": traceparent(attempt), ROOT_HEADER: traceparent(root)})


def under_root(state: ExecutionState, message: Message | None = None) -> dict[str, str]:
    """Headers for what the execution publishes besides step requests (its event records)."""
    return outgoing_headers(message, {"traceparent": traceparent(root_of(state))})


def _attributes(state: ExecutionState) -> dict[str, str | int]:
    return {
        "flowbus.execution.id": state.execution_id,
        "flowbus.workflow.id": state.workflow_id,
        "flowbus.workflow.name": str(state.definition.get("name") or state.workflow_id),
        "flowbus.workflow.version": state.workflow_version,
        "flowbus.tenant.id": state.tenant_id,
    }


def emit_decision_spans(
    before: ExecutionState,
    after: ExecutionState,
    events: Sequence[tuple[str, dict[str, Any]]],
    *,
    fork_parent: SpanContext | None = None,
) -> None:
    """Called once the decision is recorded (a decision that failed to append emits nothing)."""
    kinds = [event_type for event_type, _ in events]
    if "execution.started" in kinds or "execution.resumed" in kinds:
        _emit_root(before, after, fork_parent)
    for event_type, data in events:
        if event_type == "step.scheduled" and data.get("queue") == "orchestrator":
            _emit_orchestrator_step(after, data, events)


def _emit_root(before: ExecutionState, after: ExecutionState, fork_parent: SpanContext | None) -> None:
    starter = trace.get_current_span().get_span_context()  # the command's process span
    links = [starter]
    attributes = _attributes(after)
    if after.resumes:
        links.append(root_context(after.execution_id, after.resumes - 1))
        attributes["flowbus.execution.resumes"] = after.resumes
    if fork_parent is not None and after.parent:
        links.append(fork_parent)
        attributes["flowbus.execution.parent_id"] = str(after.parent.get("execution_id"))
    name = f"execution {attributes['flowbus.workflow.name']}"
    with recorded_span(name, root_of(after), parent=None, attributes=attributes, links=links):
        pass


def _emit_orchestrator_step(
    state: ExecutionState, scheduled: dict[str, Any], events: Sequence[tuple[str, dict[str, Any]]]
) -> None:
    step_id, attempt = str(scheduled["step_id"]), int(scheduled["attempt"])
    step_type = str(state.definition.get("steps", {}).get(step_id, {}).get("type", "step"))
    outcome = "scheduled"
    for event_type, data in events:
        if data.get("step_id") == step_id and event_type in _OUTCOMES:
            outcome = _OUTCOMES[event_type]
    root = root_of(state)
    attributes = {
        **_attributes(state),
        "flowbus.step.id": step_id,
        "flowbus.step.type": step_type,
        "flowbus.step.attempt": attempt,
        "flowbus.queue": "orchestrator",
        "flowbus.step.outcome": outcome,
    }
    context = attempt_context(root, state.execution_id, step_id, attempt)
    with recorded_span(f"step {step_type}", context, parent=root, attributes=attributes) as span:
        if outcome == "failed":
            span.set_status(Status(StatusCode.ERROR, "failed"))
