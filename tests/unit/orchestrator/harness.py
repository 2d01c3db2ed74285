"""A pure simulator around decide(): one execution, a fake clock, its events, requests and timers."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flowbus_orchestrator.domain.decide import Incoming, decide
from flowbus_orchestrator.domain.definitions import WorkflowDefinition
from flowbus_orchestrator.domain.progression import Decision, TimerRequest
from flowbus_orchestrator.domain.state import ExecutionState, fold
from flowbus_shared.schemas import (
    ApproveStep,
    CancelExecution,
    ForkExecution,
    RejectStep,
    ResumeExecution,
    StartExecution,
    StepError,
    StepRequest,
    StepResult,
    TimerFired,
)

Event = tuple[str, dict[str, Any]]
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


class Harness:
    def __init__(
        self, definition: WorkflowDefinition | None, execution_id: str = "ex-1", now: datetime = EPOCH
    ) -> None:
        self.definition = definition
        self.execution_id = execution_id
        self.now = now
        self.state = ExecutionState()
        self.events: list[Event] = []
        self.pending: list[tuple[str, StepRequest]] = []  # requests not answered yet, oldest first
        self.requests: list[tuple[str, StepRequest]] = []  # every request ever made
        self.timers: dict[str, TimerRequest] = {}  # set and neither fired nor cancelled
        self.cancelled: list[str] = []  # every timer id decide() asked to cancel
        self.last = Decision(self.state)

    # -- sending -----------------------------------------------------------------

    def send(self, message: Incoming, *, fork_source: list[Event] | None = None) -> Decision:
        # As the engine does: the definition comes with a start; afterwards decide() reads it from the state.
        definition = self.definition if isinstance(message, StartExecution) else None
        decision = decide(self.state, message, self.now, definition=definition, fork_source=fork_source)
        self.state = decision.state
        self.last = decision
        self.events += decision.events
        if isinstance(message, StepResult):
            self.pending = [
                (q, r)
                for q, r in self.pending
                if (r.step_id, r.attempt) != (message.step_id, message.attempt)
            ]
        if isinstance(message, TimerFired):
            self.timers.pop(message.timer_id, None)
        self.pending += decision.requests
        self.requests += decision.requests
        for timer in decision.timers:
            self.timers[timer.timer_id] = timer
        for cancelled in decision.cancel_timers:
            self.timers.pop(cancelled, None)
        self.cancelled += decision.cancel_timers
        return decision

    def start(self, input_: dict[str, Any] | None = None, **extra: Any) -> Decision:
        workflow_id = self.definition.id if self.definition else "missing"
        return self.send(
            StartExecution(
                execution_id=self.execution_id, workflow_id=workflow_id, input=input_ or {}, **extra
            )
        )

    def fork_from(self, source: Harness, step_id: str, overrides: dict[str, Any] | None = None) -> Decision:
        message = ForkExecution(
            execution_id=self.execution_id,
            source_execution_id=source.execution_id,
            step_id=step_id,
            variable_overrides=overrides or {},
        )
        return self.send(message, fork_source=copy.deepcopy(source.events))

    def request(self, step_id: str) -> StepRequest:
        """The last request made for `step_id`."""
        found = [r for _, r in self.requests if r.step_id == step_id]
        assert found, f"no request for {step_id}; events: {self.types()}"
        return found[-1]

    def succeed(
        self, step_id: str, output: dict[str, Any] | None = None, confidence: float | None = None
    ) -> Decision:
        return self.send(
            StepResult(
                execution_id=self.execution_id,
                step_id=step_id,
                attempt=self.request(step_id).attempt,
                status="succeeded",
                output=output or {},
                confidence=confidence,
            )
        )

    def fail(
        self, step_id: str, error_type: str = "boom", *, retryable: bool = False, message: str = "it broke"
    ) -> Decision:
        return self.send(
            StepResult(
                execution_id=self.execution_id,
                step_id=step_id,
                attempt=self.request(step_id).attempt,
                status="failed",
                error=StepError(error_type=error_type, message=message, retryable=retryable),
            )
        )

    def timer(self, step_id: str, purpose: str) -> TimerRequest:
        found = [t for t in self.timers.values() if t.step_id == step_id and t.purpose == purpose]
        assert len(found) == 1, f"pending {purpose} timers of {step_id}: {found} (all: {list(self.timers)})"
        return found[0]

    def fire(self, step_id: str, purpose: str) -> Decision:
        """Fire the pending timer, moving the clock to when it is due."""
        timer = self.timer(step_id, purpose)
        self.now = max(self.now, timer.fire_at)
        return self.send(
            TimerFired(
                execution_id=self.execution_id,
                timer_id=timer.timer_id,
                purpose=timer.purpose,
                step_id=timer.step_id,
                attempt=timer.attempt,
            )
        )

    def approve(self, step_id: str, by: str = "ana") -> Decision:
        return self.send(ApproveStep(execution_id=self.execution_id, step_id=step_id, approved_by=by))

    def reject(self, step_id: str, reason: str = "no", by: str = "ana") -> Decision:
        return self.send(
            RejectStep(execution_id=self.execution_id, step_id=step_id, rejected_by=by, reason=reason)
        )

    def cancel(self, reason: str = "stop") -> Decision:
        return self.send(CancelExecution(execution_id=self.execution_id, reason=reason))

    def resume(self, from_step_id: str | None = None) -> Decision:
        return self.send(ResumeExecution(execution_id=self.execution_id, from_step_id=from_step_id))

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def run_executor(self, fn: Callable[[StepRequest], dict[str, Any]], limit: int = 200) -> None:
        """Answer every pending request, oldest first, with a success carrying fn(request)."""
        for _ in range(limit):
            if not self.pending:
                return
            _, request = self.pending[0]
            self.send(
                StepResult(
                    execution_id=self.execution_id,
                    step_id=request.step_id,
                    attempt=request.attempt,
                    status="succeeded",
                    output=fn(request),
                )
            )
        raise AssertionError(f"still {len(self.pending)} pending requests after {limit} answers")

    # -- looking -----------------------------------------------------------------

    def types(self) -> list[str]:
        return [event_type for event_type, _ in self.events]

    def of(self, event_type: str) -> list[dict[str, Any]]:
        return [data for kind, data in self.events if kind == event_type]

    def pending_steps(self) -> list[str]:
        return [r.step_id for _, r in self.pending]

    def requested_steps(self) -> list[str]:
        return [r.step_id for _, r in self.requests]

    def replay_matches(self) -> None:
        """Folding every event from scratch gives exactly the state decide() built."""
        replayed, actual = fold(copy.deepcopy(self.events)).to_dict(), self.state.to_dict()
        differing = {key: (replayed[key], actual[key]) for key in actual if replayed[key] != actual[key]}
        assert not differing, f"replayed != actual: {differing}"
