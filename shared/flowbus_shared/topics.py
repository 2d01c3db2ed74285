"""The topic catalogue: every topic flowbus uses, what it carries and who reads it.

Names are `<prefix>.<suffix>` (FLOWBUS_TOPIC_PREFIX). Messages are keyed by
execution id, so one execution's messages stay in order on one partition; LLM
token events are keyed by request (one step attempt), which keeps their order too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowbus_shared.schemas import (
    ApproveStep,
    CancelExecution,
    Codec,
    DeadLetterRecord,
    ExecutionEventRecord,
    ForkExecution,
    GovernanceDecision,
    LlmTokenEvent,
    RejectStep,
    ResumeExecution,
    StartExecution,
    StepRequest,
    StepResult,
    TimerFired,
    TriggerEvent,
)


@dataclass(frozen=True)
class TopicSpec:
    suffix: str
    description: str
    codec: Codec[Any]
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    key: str = "the execution id"


TRIGGERS = TopicSpec(
    "triggers",
    "Trigger events from any Kafka client; start the workflows that listen for them.",
    Codec([TriggerEvent]),
    ("any client", "orchestrator HTTP API"),
    ("orchestrator",),
)
COMMANDS = TopicSpec(
    "commands",
    "Execution commands (start, resume, fork, cancel, approve, reject, timer-fired).",
    Codec(
        [
            StartExecution,
            ResumeExecution,
            ForkExecution,
            CancelExecution,
            ApproveStep,
            RejectStep,
            TimerFired,
        ]
    ),
    ("orchestrator", "HTTP API", "CLI", "governance"),
    ("orchestrator",),
)
STEP_RESULTS = TopicSpec(
    "step-results",
    "Outcome of one step attempt.",
    Codec([StepResult]),
    ("executor", "llm-gateway", "governance"),
    ("orchestrator",),
)
STEPS_EXECUTOR = TopicSpec(
    "steps.executor",
    "Step requests for integrations, data, finance and agent steps.",
    Codec([StepRequest]),
    ("orchestrator",),
    ("executor",),
    key="`<execution id>/<step id>` (a parallel step's branches run side by side)",
)
STEPS_LLM = TopicSpec(
    "steps.llm",
    "Step requests that need a language model.",
    Codec([StepRequest]),
    ("orchestrator",),
    ("llm-gateway",),
    key="`<execution id>/<step id>` (a parallel step's branches run side by side)",
)
STEPS_GOVERNANCE = TopicSpec(
    "steps.governance",
    "Step requests for permission checks and approvals.",
    Codec([StepRequest]),
    ("orchestrator",),
    ("governance",),
    key="`<execution id>/<step id>` (a parallel step's branches run side by side)",
)
EXECUTION_EVENTS = TopicSpec(
    "execution-events",
    "Every stored execution event, for observers.",
    Codec([ExecutionEventRecord]),
    ("orchestrator",),
    ("observers",),
)
LLM_TOKENS = TopicSpec(
    "llm-tokens",
    "Streamed LLM output and final usage.",
    Codec([LlmTokenEvent]),
    ("llm-gateway",),
    ("observers",),
    key="the request id (`<execution>:<step>:<attempt>`)",
)
GOVERNANCE_DECISIONS = TopicSpec(
    "governance-decisions",
    "Every permission verdict, for audit observers.",
    Codec([GovernanceDecision]),
    ("governance",),
    ("observers",),
)
DEAD_LETTER = TopicSpec(
    "dead-letter",
    "Messages a consumer could not handle, with the reason and the original bytes.",
    Codec([DeadLetterRecord]),
    ("every consumer",),
    ("operators",),
)

STEP_QUEUES: dict[str, TopicSpec] = {
    "executor": STEPS_EXECUTOR,
    "llm": STEPS_LLM,
    "governance": STEPS_GOVERNANCE,
}

ALL_TOPICS: tuple[TopicSpec, ...] = (
    TRIGGERS,
    COMMANDS,
    STEP_RESULTS,
    STEPS_EXECUTOR,
    STEPS_LLM,
    STEPS_GOVERNANCE,
    EXECUTION_EVENTS,
    LLM_TOKENS,
    GOVERNANCE_DECISIONS,
    DEAD_LETTER,
)
