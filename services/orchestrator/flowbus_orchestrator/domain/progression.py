"""How an execution moves: entering steps, advancing past them, failing, joining.

A `Progress` holds a working copy of the state; every change is an event
emitted through `emit`, which folds it at once, so later decisions in the same
message see it. The events, step requests and timers it collects are the
decision. Pure: the clock is an argument.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flowbus_orchestrator.domain import routing
from flowbus_orchestrator.domain.definitions import StepDefinition, WorkflowDefinition
from flowbus_orchestrator.domain.scope import Scope
from flowbus_orchestrator.domain.state import Active, ExecutionState, apply
from flowbus_orchestrator.domain.step_types import queue_of
from flowbus_orchestrator.domain.variables import UnresolvedReference, resolve
from flowbus_shared.schemas import StepRequest, idempotency_key

# Step types whose whole output becomes variables (the NLU step sets intent, priority, ...).
_EXPORTS_VARIABLES = frozenset({"nlu_analysis"})


@dataclass(frozen=True)
class TimerRequest:
    timer_id: str
    fire_at: datetime
    purpose: str
    step_id: str
    attempt: int


@dataclass
class Decision:
    state: ExecutionState  # the state after the events
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    requests: list[tuple[str, StepRequest]] = field(default_factory=list)  # (queue, request)
    timers: list[TimerRequest] = field(default_factory=list)
    cancel_timers: list[str] = field(default_factory=list)


# How long after governance's own expiry the orchestrator gives up on hearing its decision.
GOVERNANCE_EXPIRY_GRACE = 60.0


def resumes_after_approval(output: object) -> bool:
    """A step that paused itself for an approval (`resume_after_approval`) runs again once approved."""
    return isinstance(output, dict) and output.get("resume_after_approval") is True


def timer_id(execution_id: str, step_id: str, attempt: int, purpose: str) -> str:
    return f"{execution_id}:{step_id}:{attempt}:{purpose}"


class Progress:
    def __init__(self, state: ExecutionState, definition: WorkflowDefinition | None, now: datetime) -> None:
        self.state = state
        self.definition = definition
        self.now = now
        self.decision = Decision(state)
        self._entering = 0  # > 0 while several paths are being entered: settling waits until all are

    @contextmanager
    def entering(self) -> Iterator[None]:
        """Enter several paths, then settle once: a path that ends at once (a skipped step, a
        conditional that routes nowhere) must not complete a join or the execution before its
        siblings are even entered."""
        self._entering += 1
        try:
            yield
        finally:
            self._entering -= 1
        self.settle()

    # -- recording -------------------------------------------------------------

    def emit(self, event_type: str, **data: Any) -> None:
        self.decision.events.append((event_type, data))
        apply(self.state, event_type, data)

    def set_timer(self, step_id: str, attempt: int, purpose: str, seconds: float) -> None:
        self.decision.timers.append(
            TimerRequest(
                timer_id(self.state.execution_id, step_id, attempt, purpose),
                self.now + timedelta(seconds=seconds),
                purpose,
                step_id,
                attempt,
            )
        )

    def cancel_timer(self, step_id: str, attempt: int, purpose: str) -> None:
        self.decision.cancel_timers.append(timer_id(self.state.execution_id, step_id, attempt, purpose))

    def cancel_timers_of(self, active: Active) -> None:
        purpose = {
            "result": "step-timeout",
            "retry": "retry",
            "delay": "delay",
            "approval": "approval-expiry",
        }
        if active.waiting in purpose:
            self.cancel_timer(active.step_id, active.attempt, purpose[active.waiting])

    @property
    def workflow(self) -> WorkflowDefinition:
        assert self.definition is not None, "an execution without a definition cannot progress"
        return self.definition

    def scope(self) -> Scope:
        return Scope(input=self.state.input, variables=self.state.variables, steps=self.state.outputs())

    def at(self, seconds: float = 0.0) -> str:
        return (self.now + timedelta(seconds=seconds)).isoformat()

    # -- entering a step -------------------------------------------------------

    def enter(self, step_id: str, scope: list[str], *, visit: bool = True) -> None:
        if self.state.terminal:
            return
        step = self.workflow.step(step_id)
        run = self.state.run(step_id)
        if visit and step_id in self.state.active:  # (a retry re-enters its own waiting step)
            self.emit("warning", message=f"{step_id} reached again while running; the paths merge")
            return
        if visit and step.max_visits is not None and run.visits >= step.max_visits:
            self.emit("warning", message=f"{step_id} reached its max_visits ({step.max_visits}); path ends")
            return
        condition = routing.step_condition(step)
        if visit and condition is not None:
            outcome = condition.evaluate(self.scope())
            for warning in outcome.warnings:
                self.emit("warning", message=f"{step_id}.condition: {warning}")
            if not outcome.value:
                self.emit("step.skipped", step_id=step_id, reason=f"condition {step.condition!r} is false")
                self.advance(step, scope)
                return
        attempt = run.attempt + 1
        queue = queue_of(step.type)
        if queue != "orchestrator":
            self._request(step, scope, attempt, queue, visit)
            return
        self.emit("step.scheduled", step_id=step_id, attempt=attempt, scope=scope, queue=queue, visit=visit)
        getattr(self, f"_run_{step.type}")(step, scope, attempt)

    def _request(self, step: StepDefinition, scope: list[str], attempt: int, queue: str, visit: bool) -> None:
        try:
            config = resolve(step.config, self.scope())
        except UnresolvedReference as error:
            self.emit(
                "step.scheduled", step_id=step.id, attempt=attempt, scope=scope, queue=queue, visit=visit
            )
            self.fail_step(
                step,
                attempt,
                {"error_type": "unresolved_reference", "message": str(error), "retryable": False},
            )
            return
        request = StepRequest(
            message_id=idempotency_key(self.state.execution_id, step.id, attempt),
            occurred_at=self.now,
            execution_id=self.state.execution_id,
            workflow_id=self.state.workflow_id,
            tenant_id=self.state.tenant_id,
            step_id=step.id,
            step_type=step.type,
            attempt=attempt,
            config=config,
            timeout_seconds=step.timeout_seconds,
        )
        self.emit(
            "step.scheduled",
            step_id=step.id,
            attempt=attempt,
            scope=scope,
            queue=queue,
            visit=visit,
            config=config,
            timeout_seconds=step.timeout_seconds,
        )
        self.decision.requests.append((queue, request))
        self.set_timer(step.id, attempt, "step-timeout", step.timeout_seconds)

    # -- logic steps, run here -------------------------------------------------

    def _run_conditional_logic(self, step: StepDefinition, scope: list[str], attempt: int) -> None:
        values = self.scope()
        chosen: routing.Branch | None = None
        for branch in routing.conditional_branches(step):
            if branch.condition is None:
                chosen = branch
                break
            outcome = branch.condition.evaluate(values)
            for warning in outcome.warnings:
                self.emit("warning", message=f"{branch.path}.if: {warning}")
            if outcome.value:
                chosen = branch
                break
        targets = list(chosen.targets) if chosen else []
        output = {
            "condition_met": bool(chosen and chosen.condition is not None),
            "branch": chosen.condition.source
            if chosen and chosen.condition
            else ("else" if chosen else None),
            "next_steps": targets,
        }
        self.emit("step.succeeded", step_id=step.id, attempt=attempt, output=output, confidence=None)
        with self.entering():
            for target in targets:
                self.enter(target, scope)

    def _run_parallel_execution(self, step: StepDefinition, scope: list[str], attempt: int) -> None:
        branches = list(routing.parallel_branches(step))
        self.emit("branches.started", step_id=step.id, branches=branches, scope=scope)
        with self.entering():
            for branch in branches:
                self.enter(branch, [*scope, step.id])

    def _run_delay(self, step: StepDefinition, scope: list[str], attempt: int) -> None:
        seconds = routing.delay_seconds(step)
        self.emit("step.waiting", step_id=step.id, until=self.at(seconds))
        self.set_timer(step.id, attempt, "delay", seconds)

    def _run_approval_required(self, step: StepDefinition, scope: list[str], attempt: int) -> None:
        self.request_approval(step, scope, attempt, str(step.config.get("reason", "approval required")))

    def request_approval(
        self,
        step: StepDefinition,
        scope: list[str],
        attempt: int,
        reason: str,
        expires_in: float | None = None,
    ) -> None:
        value = step.config.get("expires_in_seconds") if expires_in is None else expires_in
        expires = float(value) if isinstance(value, int | float) and value > 0 else None
        expires_at = self.at(expires) if expires is not None else None
        self.emit(
            "approval.requested",
            step_id=step.id,
            attempt=attempt,
            scope=scope,
            reason=reason,
            expires_at=expires_at,
        )
        if expires is not None:
            self.set_timer(step.id, attempt, "approval-expiry", expires)

    # -- leaving a step --------------------------------------------------------

    def succeed_step(
        self, step: StepDefinition, attempt: int, output: dict[str, Any], confidence: float | None
    ) -> None:
        scope = list(self.state.active[step.id].scope) if step.id in self.state.active else []
        self.emit("step.succeeded", step_id=step.id, attempt=attempt, output=output, confidence=confidence)
        exported = self._exports(step, output)
        if exported:
            self.emit("variables.set", values=exported)
        if output.get("verdict") == "approval_required" and (
            step.type == "governance_check" or resumes_after_approval(output)
        ):
            # Governance holds the approval (and its expiry) and sends the decision as an
            # approve or reject command; the timer here is only a safety net for a lost one.
            wait = output.get("expires_in_seconds")
            net = float(wait) + GOVERNANCE_EXPIRY_GRACE if isinstance(wait, int | float) else None
            reason = str(output.get("reason") or "governance requires approval")
            self.request_approval(step, scope, attempt, reason, expires_in=net)
            return
        threshold = step.confidence_threshold
        if confidence is not None and threshold is not None and confidence < threshold:
            self.request_approval(
                step, scope, attempt, f"confidence {confidence:.2f} is below {threshold:.2f}"
            )
            return
        self.advance(step, scope)

    @staticmethod
    def _exports(step: StepDefinition, output: dict[str, Any]) -> dict[str, Any]:
        exported: dict[str, Any] = {}
        if step.config.get("set_variables", step.type in _EXPORTS_VARIABLES):
            exported.update(output)
        name = step.config.get("output_variable")
        if step.type == "agent_execution" and not name and step.config.get("agent_id"):
            name = f"{step.config['agent_id']}_output"
        if isinstance(name, str) and name:
            exported[name] = output
        return exported

    def advance(self, step: StepDefinition, scope: list[str]) -> None:
        with self.entering():
            for target in step.next_steps:
                self.enter(target, scope)

    def fail_step(self, step: StepDefinition, attempt: int, error: dict[str, Any]) -> None:
        """A step attempt failed: retry it, or fail for good."""
        active = self.state.active.get(step.id)
        scope = list(active.scope) if active else []
        policy = step.effective_retry_policy
        run = self.state.run(step.id)
        if active is not None and policy.allows(
            error_type=str(error.get("error_type", "")),
            retryable=bool(error.get("retryable")),
            retries_done=run.retries,
        ):
            delay = max(policy.delay_seconds(run.retries + 1), float(error.get("retry_after_seconds") or 0))
            self.emit("step.failed", step_id=step.id, attempt=attempt, error=error, retry_at=self.at(delay))
            self.set_timer(step.id, attempt, "retry", delay)
            return
        self.emit("step.failed", step_id=step.id, attempt=attempt, error=error, retry_at=None)
        if step.optional:
            self.emit("warning", message=f"optional step {step.id} failed; continuing")
            self.advance(step, scope)
        elif scope and self.workflow.step(scope[-1]).continue_on_error:
            self.emit("warning", message=f"branch step {step.id} failed; {scope[-1]} continues on error")
            self.settle()
        else:
            self.fail_execution({"step_id": step.id, "scope": scope, **error})

    def fail_execution(self, error: dict[str, Any]) -> None:
        for active in list(self.state.active.values()):
            self.cancel_timers_of(active)
        self.emit("execution.failed", at=self.at(), error=error)

    def settle(self) -> None:
        """Complete joins whose branches have all finished, then the execution if nothing is left."""
        if self._entering:
            return
        while not self.state.terminal:
            done = [
                join
                for join in self.state.joins
                if not any(join in active.scope for active in self.state.active.values())
                and not any(join in scope for other, scope in self.state.joins.items() if other != join)
            ]
            if not done:
                break
            # A branch that failed for good has already failed the execution, unless the
            # parallel step continues on error or the step was optional: the join goes on.
            join = done[0]
            step = self.workflow.step(join)
            # (read without state.run(): creating a StepRun outside an event would break replay)
            branches = {
                b: self.state.steps[b].status if b in self.state.steps else "pending"
                for b in routing.parallel_branches(step)
            }
            outer = list(self.state.joins[join])
            succeeded = all(status in {"succeeded", "skipped"} for status in branches.values())
            self.emit("join.completed", step_id=join, branches=branches, succeeded=succeeded)
            self.advance(step, outer)
            return
        if not self.state.terminal and not self.state.active and not self.state.joins:
            self.emit("execution.completed", at=self.at())
