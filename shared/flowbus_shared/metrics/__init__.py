"""flowbus' domain metrics, defined once per process (see `definitions`), and the consumer-lag
sampler of the Kafka backend. Served with the HTTP metrics on every service's `/metrics`."""

from flowbus_shared.metrics.consumer_lag import ConsumerLag
from flowbus_shared.metrics.definitions import (
    approvals_waiting,
    dead_lettered,
    execution_events,
    governance_verdict,
    llm_usage,
    redelivered,
    step_attempt,
)

__all__ = [
    "ConsumerLag",
    "approvals_waiting",
    "dead_lettered",
    "execution_events",
    "governance_verdict",
    "llm_usage",
    "redelivered",
    "step_attempt",
]
