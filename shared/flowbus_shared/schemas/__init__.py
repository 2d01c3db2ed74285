"""Wire messages, one module per family, and the strict codec that reads them."""

from flowbus_shared.schemas.base import ExecutionMessage, Message, new_id, utc_now
from flowbus_shared.schemas.codec import Codec, DecodeError, encode, register_upcaster
from flowbus_shared.schemas.commands import (
    ApproveStep,
    CancelExecution,
    ExecutionCommand,
    ForkExecution,
    RejectStep,
    ResumeExecution,
    StartExecution,
    TimerFired,
)
from flowbus_shared.schemas.dead_letter import DeadLetterRecord
from flowbus_shared.schemas.execution_events import ExecutionEventRecord
from flowbus_shared.schemas.governance import GovernanceDecision
from flowbus_shared.schemas.llm import LlmTokenEvent, TokenUsage
from flowbus_shared.schemas.steps import StepError, StepRequest, StepResult, idempotency_key
from flowbus_shared.schemas.triggers import TriggerEvent

__all__ = [
    "ApproveStep",
    "CancelExecution",
    "Codec",
    "DeadLetterRecord",
    "DecodeError",
    "ExecutionCommand",
    "ExecutionEventRecord",
    "ExecutionMessage",
    "ForkExecution",
    "GovernanceDecision",
    "LlmTokenEvent",
    "Message",
    "RejectStep",
    "ResumeExecution",
    "StartExecution",
    "StepError",
    "StepRequest",
    "StepResult",
    "TimerFired",
    "TokenUsage",
    "TriggerEvent",
    "encode",
    "idempotency_key",
    "new_id",
    "register_upcaster",
    "utc_now",
]
