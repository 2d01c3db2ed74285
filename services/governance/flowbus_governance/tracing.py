"""The `governance.check` span: which agent asked to do what, and the verdict with the policy
version it came from (a denial is an answer, not an error)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.trace import Span

from flowbus_governance.domain.decide import Decision
from flowbus_shared.telemetry import tracer


@contextmanager
def check_span(tenant_id: str, agent_id: str, action: str, execution_id: str | None) -> Iterator[Span]:
    attributes = {
        "flowbus.tenant.id": tenant_id,
        "flowbus.agent.id": agent_id,
        "flowbus.governance.action": action,
    }
    if execution_id:
        attributes["flowbus.execution.id"] = execution_id
    with tracer().start_as_current_span("governance.check", attributes=attributes) as span:
        yield span


def record_decision(span: Span, decision: Decision, decision_id: str) -> None:
    span.set_attribute("flowbus.governance.verdict", decision.verdict)
    span.set_attribute("flowbus.governance.policy_version", decision.policy_version)
    span.set_attribute("flowbus.governance.decision.id", decision_id)
    if decision.complexity is not None:
        span.set_attribute("flowbus.governance.action_complexity", decision.complexity)
    if decision.agent_status is not None:
        span.set_attribute("flowbus.agent.maturity", decision.agent_status)
