"""The updates behind the domain metrics: executions and retries from recorded events, step
attempts by outcome, LLM spend by class, governance verdicts with bounded labels."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from flowbus_shared import metrics


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_recorded_events_count_executions_by_workflow_and_retries_by_step_type() -> None:
    workflow = "wf-metrics-unit"
    definition = {"steps": {"fetch": {"type": "api_call"}, "notify": {"type": "email_send"}}}
    before = {
        name: sample(f"flowbus_executions_{name}_total", workflow=workflow)
        for name in ("started", "completed", "failed", "cancelled")
    }
    retries = sample("flowbus_step_retries_scheduled_total", step_type="api_call")
    given_up = sample("flowbus_step_retries_scheduled_total", step_type="email_send")

    metrics.execution_events(workflow, definition, [("execution.started", {}), ("step.scheduled", {})])
    metrics.execution_events(
        workflow,
        definition,
        [
            ("step.failed", {"step_id": "fetch", "retry_at": "2026-11-24T06:00:00Z"}),
            ("step.failed", {"step_id": "notify", "retry_at": None}),  # failed for good: no retry
            ("execution.failed", {}),
        ],
    )
    metrics.execution_events(workflow, definition, [("execution.resumed", {}), ("execution.completed", {})])
    metrics.execution_events(workflow, definition, [("execution.cancelled", {})])

    after = {
        name: sample(f"flowbus_executions_{name}_total", workflow=workflow)
        for name in ("started", "completed", "failed", "cancelled")
    }
    assert {name: after[name] - before[name] for name in after} == {
        "started": 1,
        "completed": 1,
        "failed": 1,
        "cancelled": 1,
    }
    assert sample("flowbus_step_retries_scheduled_total", step_type="api_call") == retries + 1
    assert sample("flowbus_step_retries_scheduled_total", step_type="email_send") == given_up


def test_step_attempts_are_observed_in_seconds_by_outcome() -> None:
    def count(outcome: str) -> float:
        return sample(
            "flowbus_step_attempt_duration_seconds_count", step_type="slack_notification", outcome=outcome
        )

    before = {outcome: count(outcome) for outcome in ("succeeded", "failed", "timeout")}
    seconds = sample(
        "flowbus_step_attempt_duration_seconds_sum", step_type="slack_notification", outcome="succeeded"
    )

    metrics.step_attempt("slack_notification", "succeeded", None, 1500.0)
    metrics.step_attempt("slack_notification", "failed", "timeout", 30_000.0)
    metrics.step_attempt("slack_notification", "failed", "connection", 20.0)

    assert {outcome: count(outcome) - before[outcome] for outcome in before} == {
        "succeeded": 1,
        "failed": 1,
        "timeout": 1,
    }
    total = sample(
        "flowbus_step_attempt_duration_seconds_sum", step_type="slack_notification", outcome="succeeded"
    )
    assert total - seconds == pytest.approx(1.5)


def test_llm_usage_counts_tokens_by_class_and_cost_by_provider_and_tenant() -> None:
    labels = {"provider": "unit-provider", "model": "unit-model", "tenant": "unit-tenant"}
    before = {c: sample("flowbus_llm_tokens_total", **labels, **{"class": c}) for c in ("input", "output")}
    cost = sample("flowbus_llm_cost_usd_total", provider="unit-provider", tenant="unit-tenant")
    usage = {"input_tokens": 120, "cached_input_tokens": 0, "output_tokens": 30, "reasoning_tokens": 10}

    metrics.llm_usage("unit-provider", "unit-model", "unit-tenant", usage, 0.25)

    assert sample("flowbus_llm_tokens_total", **labels, **{"class": "input"}) == before["input"] + 120
    assert sample("flowbus_llm_tokens_total", **labels, **{"class": "output"}) == before["output"] + 30
    # Reasoning tokens are part of output tokens: not counted twice; classes with none get no series.
    for absent in ("reasoning", "cached_input"):
        assert REGISTRY.get_sample_value("flowbus_llm_tokens_total", {**labels, "class": absent}) is None
    assert sample("flowbus_llm_cost_usd_total", provider="unit-provider", tenant="unit-tenant") == cost + 0.25


def test_governance_verdicts_keep_unknown_complexity_apart() -> None:
    allowed = sample("flowbus_governance_verdicts_total", verdict="allow", action="read", complexity="1")
    unknown = sample("flowbus_governance_verdicts_total", verdict="deny", action="other", complexity="none")

    metrics.governance_verdict("allow", "read", 1)
    metrics.governance_verdict("deny", "other", None)

    assert (
        sample("flowbus_governance_verdicts_total", verdict="allow", action="read", complexity="1")
        == allowed + 1
    )
    assert (
        sample("flowbus_governance_verdicts_total", verdict="deny", action="other", complexity="none")
        == unknown + 1
    )


def test_approvals_waiting_is_a_level_not_a_count() -> None:
    metrics.approvals_waiting(4)
    metrics.approvals_waiting(2)
    assert REGISTRY.get_sample_value("flowbus_approvals_waiting") == 2
