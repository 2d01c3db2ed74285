"""Every domain metric of flowbus, created once at import (`flowbus dev` runs all four services
in one process, and registering a metric twice is an error), and the functions that update them.

Labels stay bounded: workflow ids, step types, topics, consumer groups, providers and models
are few; tenants appear only on LLM spend, where the issue asks for them. Free text (error
messages, unclassified action names) never becomes a label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

# Step attempts run from milliseconds (a transformation) to minutes (an LLM or a slow API).
_STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

EXECUTIONS_STARTED = Counter("flowbus_executions_started", "Executions started", ("workflow",))
EXECUTIONS_COMPLETED = Counter("flowbus_executions_completed", "Executions completed", ("workflow",))
EXECUTIONS_FAILED = Counter("flowbus_executions_failed", "Executions failed", ("workflow",))
EXECUTIONS_CANCELLED = Counter("flowbus_executions_cancelled", "Executions cancelled", ("workflow",))
STEP_RETRIES = Counter(
    "flowbus_step_retries_scheduled", "Failed step attempts the orchestrator will retry", ("step_type",)
)
STEP_ATTEMPT_DURATION = Histogram(
    "flowbus_step_attempt_duration_seconds",
    "Time a step-running service spent on one step attempt, by outcome (succeeded, failed, timeout)",
    ("step_type", "outcome"),
    buckets=_STEP_BUCKETS,
)
DEAD_LETTERS = Counter(
    "flowbus_dead_letters",
    "Records moved to the dead-letter topic, by source topic and reason (undecodable, rejected, "
    "handler-failed)",
    ("topic", "reason"),
)
REDELIVERIES = Counter(
    "flowbus_redeliveries", "Records delivered again after their handler failed", ("topic", "group")
)
CONSUMER_LAG = Gauge(
    "flowbus_consumer_lag",
    "Records on the broker not yet fetched by this process' consumers (high watermark - position), "
    "summed over the partitions assigned here",
    ("group", "topic"),
)
LLM_TOKENS = Counter(
    "flowbus_llm_tokens",
    "Tokens provider calls used, by class (input, cached_input, cache_write, output)",
    ("provider", "model", "class", "tenant"),
)
LLM_COST = Counter("flowbus_llm_cost_usd", "What provider calls cost, in US dollars", ("provider", "tenant"))
GOVERNANCE_VERDICTS = Counter(
    "flowbus_governance_verdicts",
    "Governance decisions, by verdict, action (a name the policy lists, else 'other') and the action's "
    "complexity (1-4, 'none' when the policy does not know it)",
    ("verdict", "action", "complexity"),
)
APPROVALS_WAITING = Gauge(
    "flowbus_approvals_waiting",
    "Approvals pending a human decision and not expired (every tenant; the same on every replica)",
)

_EXECUTION_COUNTERS = {
    "execution.started": EXECUTIONS_STARTED,
    "execution.completed": EXECUTIONS_COMPLETED,
    "execution.failed": EXECUTIONS_FAILED,
    "execution.cancelled": EXECUTIONS_CANCELLED,
}
_TOKEN_CLASSES = ("input", "cached_input", "cache_write", "output")


def execution_events(
    workflow_id: str, definition: Mapping[str, Any], events: Iterable[tuple[str, Mapping[str, Any]]]
) -> None:
    """Count what one recorded decision did: executions started or finished, retries scheduled."""
    for event_type, data in events:
        counter = _EXECUTION_COUNTERS.get(event_type)
        if counter is not None:
            counter.labels(workflow_id).inc()
        elif event_type == "step.failed" and data.get("retry_at") is not None:
            step = definition.get("steps", {}).get(data.get("step_id"), {})
            STEP_RETRIES.labels(str(step.get("type", "unknown"))).inc()


def step_attempt(step_type: str, status: str, error_type: str | None, duration_ms: float) -> None:
    outcome = "succeeded" if status == "succeeded" else "timeout" if error_type == "timeout" else "failed"
    STEP_ATTEMPT_DURATION.labels(step_type, outcome).observe(duration_ms / 1000)


def dead_lettered(topic: str, reason: str) -> None:
    DEAD_LETTERS.labels(topic, reason).inc()


def redelivered(topic: str, group: str) -> None:
    REDELIVERIES.labels(topic, group).inc()


def llm_usage(provider: str, model: str, tenant: str, tokens: Mapping[str, int], cost_usd: float) -> None:
    """One answered provider call: its tokens by class (see `_TOKEN_CLASSES`) and its cost."""
    for token_class in _TOKEN_CLASSES:
        count = tokens.get(f"{token_class}_tokens", 0)
        if count > 0:
            LLM_TOKENS.labels(provider, model, token_class, tenant).inc(count)
    if cost_usd > 0:
        LLM_COST.labels(provider, tenant).inc(cost_usd)


def governance_verdict(verdict: str, action: str, complexity: int | None) -> None:
    GOVERNANCE_VERDICTS.labels(verdict, action, "none" if complexity is None else str(complexity)).inc()


def approvals_waiting(count: int) -> None:
    APPROVALS_WAITING.set(count)
