"""decide(state, message) -> Decision: what one incoming message does to an execution.

Messages: the execution commands (start, fork, resume, cancel, approve,
reject, timer-fired) and step results. A message that does not apply (a late
result, approving a step that is not waiting) is recorded, never silently
dropped, and changes nothing else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flowbus_orchestrator.domain.definitions import WorkflowDefinition
from flowbus_orchestrator.domain.progression import Decision, Progress, resumes_after_approval
from flowbus_orchestrator.domain.state import ExecutionState, fold
from flowbus_shared.schemas import (
    ApproveStep,
    CancelExecution,
    ForkExecution,
    RejectStep,
    ResumeExecution,
    StartExecution,
    StepResult,
    TimerFired,
)

Incoming = (
    StartExecution
    | ForkExecution
    | ResumeExecution
    | CancelExecution
    | ApproveStep
    | RejectStep
    | TimerFired
    | StepResult
)


# Parsed definitions by (workflow, version); validating the model again for every
# step was most of a decision's cost. The stored dict is checked, so a cache hit is exact.
_PARSED: dict[tuple[str, int], tuple[dict[str, Any], WorkflowDefinition]] = {}


def definition_of(state: ExecutionState) -> WorkflowDefinition | None:
    if not state.definition:
        return None
    key = (state.workflow_id, state.workflow_version)
    hit = _PARSED.get(key)
    if hit is not None and (hit[0] is state.definition or hit[0] == state.definition):
        return hit[1]
    parsed = WorkflowDefinition.model_validate(state.definition)
    if len(_PARSED) > 1000:
        _PARSED.clear()
    _PARSED[key] = (state.definition, parsed)
    return parsed


def decide(
    state: ExecutionState,
    message: Incoming,
    now: datetime,
    *,
    definition: WorkflowDefinition | None = None,
    fork_source: list[tuple[str, dict[str, Any]]] | None = None,
) -> Decision:
    """The events (and the requests and timers they call for) that `message` causes.

    `definition` is needed to start; `fork_source` (the source execution's
    events) to fork. `state` is not changed: decisions are made on a copy.
    """
    if not state.execution_id and not isinstance(message, StartExecution | ForkExecution):
        return Decision(state)  # no such execution: recording anything would create one
    working = state.copy()
    progress = Progress(working, definition if definition is not None else definition_of(working), now)
    match message:
        case StartExecution():
            _start(progress, message)
        case ForkExecution():
            _fork(progress, message, fork_source or [])
        case StepResult():
            _result(progress, message)
        case TimerFired():
            _timer(progress, message)
        case ApproveStep() | RejectStep():
            _approval(progress, message)
        case CancelExecution():
            _cancel(progress, message)
        case ResumeExecution():
            _resume(progress, message)
    return progress.decision


def _reject(progress: Progress, message: Incoming, reason: str) -> None:
    progress.emit("command.rejected", command=str(message.type), message_id=message.message_id, reason=reason)


def _started(
    progress: Progress,
    definition: WorkflowDefinition,
    execution_id: str,
    tenant_id: str,
    input_: dict[str, Any],
    variables: dict[str, Any],
    **extra: Any,
) -> None:
    progress.emit(
        "execution.started",
        execution_id=execution_id,
        workflow_id=definition.id,
        workflow_version=definition.version,
        tenant_id=tenant_id,
        definition=definition.model_dump(mode="json"),
        input=input_,
        variables=variables,
        at=progress.at(),
        **extra,
    )


def _start(progress: Progress, message: StartExecution) -> None:
    if progress.state.execution_id:
        return  # a duplicate start (same deterministic execution id): nothing new
    if progress.definition is None:
        _reject(progress, message, f"no workflow {message.workflow_id!r} to start")
        return
    definition = progress.definition
    _started(
        progress,
        definition,
        message.execution_id,
        message.tenant_id,
        message.input,
        dict(message.input),
        trigger_id=message.trigger_id,
        requested_by=message.requested_by,
    )
    progress.enter(definition.start_step_id, [])


def _fork(progress: Progress, message: ForkExecution, source: list[tuple[str, dict[str, Any]]]) -> None:
    if progress.state.execution_id:
        return  # already forked
    point = next(
        (
            i
            for i, (kind, data) in enumerate(source)
            if kind == "step.scheduled" and data["step_id"] == message.step_id
        ),
        None,
    )
    if point is None:
        _reject(progress, message, f"{message.source_execution_id} never reached step {message.step_id!r}")
        return
    before = fold(source[:point])
    progress.definition = definition_of(before)
    assert progress.definition is not None
    copied = {
        step_id: vars(run) for step_id, run in before.steps.items() if run.status in {"succeeded", "skipped"}
    }
    scope = list(source[point][1]["scope"])
    # Parallel steps enclosing the fork point are still open in the copy: their joins come along.
    joins = {join: outer for join, outer in before.joins.items() if join in scope}
    _started(
        progress,
        progress.definition,
        message.execution_id,
        before.tenant_id,
        before.input,
        {**before.variables, **message.variable_overrides},
        # `resumes`: which of the source's traces the fork was taken from (its trace links there).
        parent={
            "execution_id": message.source_execution_id,
            "step_id": message.step_id,
            "version": point,
            "resumes": before.resumes,
        },
        steps=copied,
        joins=joins,
        requested_by=message.requested_by,
    )
    progress.enter(message.step_id, scope)


def _result(progress: Progress, result: StepResult) -> None:
    state = progress.state
    active = state.active.get(result.step_id)
    if state.terminal or active is None or active.attempt != result.attempt or active.waiting != "result":
        progress.emit(
            "result.ignored",
            step_id=result.step_id,
            attempt=result.attempt,
            status=result.status,
            reason=f"execution {state.status}, step not awaiting this attempt",
        )
        return
    step = progress.workflow.step(result.step_id)
    progress.cancel_timer(step.id, result.attempt, "step-timeout")
    if result.status == "succeeded":
        progress.succeed_step(step, result.attempt, result.output, result.confidence)
    else:
        assert result.error is not None
        progress.fail_step(step, result.attempt, result.error.model_dump(mode="json"))


def _timer(progress: Progress, timer: TimerFired) -> None:
    state = progress.state
    active = state.active.get(timer.step_id)
    expected = {"step-timeout": "result", "retry": "retry", "delay": "delay", "approval-expiry": "approval"}
    if (
        state.terminal
        or active is None
        or active.attempt != timer.attempt
        or active.waiting != expected[timer.purpose]
    ):
        progress.emit(
            "result.ignored",
            step_id=timer.step_id,
            attempt=timer.attempt,
            status=timer.purpose,
            reason="timer no longer relevant",
        )
        return
    step = progress.workflow.step(timer.step_id)
    if timer.purpose == "retry":
        progress.enter(step.id, list(active.scope), visit=False)
    elif timer.purpose == "delay":
        progress.succeed_step(step, timer.attempt, {"waited_until": progress.at()}, None)
    elif timer.purpose == "step-timeout":
        progress.fail_step(
            step,
            timer.attempt,
            {
                "error_type": "timeout",
                "retryable": True,
                "message": f"no result within {step.timeout_seconds} s",
            },
        )
    else:
        progress.emit("approval.rejected", step_id=step.id, by="system", reason="approval expired")
        progress.fail_step(
            step,
            timer.attempt,
            {"error_type": "approval_expired", "retryable": False, "message": "approval expired"},
        )


def _approval(progress: Progress, message: ApproveStep | RejectStep) -> None:
    active = progress.state.active.get(message.step_id)
    if progress.state.terminal or active is None or active.waiting != "approval":
        _reject(progress, message, f"step {message.step_id!r} is not waiting for approval")
        return
    step = progress.workflow.step(message.step_id)
    progress.cancel_timer(step.id, active.attempt, "approval-expiry")
    scope = list(active.scope)
    if isinstance(message, RejectStep):
        progress.emit("approval.rejected", step_id=step.id, by=message.rejected_by, reason=message.reason)
        progress.fail_step(
            step,
            active.attempt,
            {
                "error_type": "rejected",
                "retryable": False,
                "message": message.reason or f"rejected by {message.rejected_by}",
            },
        )
        return
    progress.emit("approval.granted", step_id=step.id, by=message.approved_by, comment=message.comment)
    if step.type == "approval_required":
        progress.emit(
            "step.succeeded",
            step_id=step.id,
            attempt=active.attempt,
            confidence=None,
            output={"approved_by": message.approved_by, "comment": message.comment},
        )
    elif resumes_after_approval(progress.state.run(step.id).output):
        # The step paused itself for a person (an agent's risky tool call): run it again.
        progress.enter(step.id, scope, visit=False)
        return
    progress.advance(step, scope)


def _cancel(progress: Progress, message: CancelExecution) -> None:
    if progress.state.terminal:
        _reject(progress, message, f"execution is {progress.state.status}")
        return
    for active in list(progress.state.active.values()):
        progress.cancel_timers_of(active)
    progress.emit(
        "execution.cancelled",
        at=progress.at(),
        by=message.requested_by,
        reason=message.reason,
        error={"error_type": "cancelled", "message": message.reason, "by": message.requested_by},
    )


def _resume(progress: Progress, message: ResumeExecution) -> None:
    state = progress.state
    if state.status not in {"failed", "cancelled", "waiting_approval"}:
        _reject(
            progress,
            message,
            f"only failed, cancelled or waiting executions resume; this one is {state.status}",
        )
        return
    if message.from_step_id is not None and message.from_step_id not in progress.workflow.steps:
        _reject(progress, message, f"no step {message.from_step_id!r}")
        return
    waiting = [a for a in state.active.values() if a.waiting == "approval"]
    if state.status == "waiting_approval" and message.from_step_id is None:
        _reject(progress, message, "approve or reject the waiting step, or name a step to resume from")
        return
    known = {a.step_id: a.scope for a in [*state.suspended, *waiting]}
    if message.from_step_id is not None:
        targets = [(message.from_step_id, known.get(message.from_step_id, []))]
    else:
        error = state.error or {}
        failed = error.get("step_id")
        targets = [(a.step_id, a.scope) for a in state.suspended]
        if failed in progress.workflow.steps and failed not in known:
            targets.insert(0, (failed, list(error.get("scope", []))))
    for active in waiting:
        progress.cancel_timers_of(active)
    progress.emit(
        "execution.resumed",
        by=message.requested_by,
        from_step_id=message.from_step_id,
        steps=[step for step, _ in targets],
        abandoned_approvals=[a.step_id for a in waiting],
    )
    with progress.entering():
        for step_id, scope in targets:
            progress.enter(step_id, list(scope))
