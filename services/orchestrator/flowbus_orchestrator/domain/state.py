"""An execution's state, and `fold`: the only way state changes, one event at a time.

Replaying an execution's events through `fold` from an empty state gives
exactly the state the orchestrator had: that is what makes resume, fork and
replay exact. Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

TERMINAL = frozenset({"completed", "failed", "cancelled"})


@dataclass
class StepRun:
    """What one step has done in this execution so far."""

    status: str = "pending"  # scheduled, succeeded, failed, skipped, waiting_approval, waiting
    attempt: int = 0  # last attempt number requested; never reused, so idempotency keys stay unique
    retries: int = 0  # retries in the current visit
    visits: int = 0
    output: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    confidence: float | None = None


@dataclass
class Active:
    """A step in flight: what it waits for, inside which parallel steps."""

    step_id: str
    scope: list[str]
    attempt: int
    waiting: str  # result, retry, delay, approval


@dataclass
class ExecutionState:
    execution_id: str = ""
    workflow_id: str = ""
    workflow_version: int = 0
    tenant_id: str = "default"
    definition: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"
    input: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, StepRun] = field(default_factory=dict)
    active: dict[str, Active] = field(default_factory=dict)
    joins: dict[str, list[str]] = field(default_factory=dict)  # parallel step -> its own scope
    suspended: list[Active] = field(default_factory=list)  # in flight when it failed or was cancelled
    parent: dict[str, Any] | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    resumes: int = 0  # each resume starts a new trace (see flowbus_shared.execution_trace)
    version: int = 0

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def run(self, step_id: str) -> StepRun:
        if step_id not in self.steps:
            self.steps[step_id] = StepRun()
        return self.steps[step_id]

    def outputs(self) -> dict[str, dict[str, Any]]:
        return {step_id: run.output for step_id, run in self.steps.items() if run.output is not None}

    def copy(self) -> ExecutionState:
        """A copy that decisions may change freely. JSON values (definition, input values,
        outputs, errors) are shared: nothing changes them in place, events replace them."""
        return replace(
            self,
            input=dict(self.input),
            variables=dict(self.variables),
            steps={step_id: replace(run) for step_id, run in self.steps.items()},
            active={step_id: replace(a, scope=list(a.scope)) for step_id, a in self.active.items()},
            joins={join: list(scope) for join, scope in self.joins.items()},
            suspended=[replace(a, scope=list(a.scope)) for a in self.suspended],
            warnings=list(self.warnings),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExecutionState:
        data = dict(data)
        data["steps"] = {k: StepRun(**v) for k, v in data["steps"].items()}
        data["active"] = {k: Active(**v) for k, v in data["active"].items()}
        data["suspended"] = [Active(**v) for v in data["suspended"]]
        return cls(**data)


def _refresh_status(state: ExecutionState) -> None:
    if state.terminal or state.status == "pending":
        return
    waiting = any(active.waiting == "approval" for active in state.active.values())
    state.status = "waiting_approval" if waiting else "running"


def apply(state: ExecutionState, event_type: str, data: dict[str, Any]) -> None:
    """Fold one event into `state` (in place)."""
    handler = _FOLDS.get(event_type)
    if handler is not None:
        handler(state, data)
    _refresh_status(state)
    state.version += 1


def fold(events: Iterable[tuple[str, dict[str, Any]]], state: ExecutionState | None = None) -> ExecutionState:
    state = state if state is not None else ExecutionState()
    for event_type, data in events:
        apply(state, event_type, data)
    return state


def _started(state: ExecutionState, data: dict[str, Any]) -> None:
    state.execution_id = data["execution_id"]
    state.workflow_id = data["workflow_id"]
    state.workflow_version = data["workflow_version"]
    state.tenant_id = data["tenant_id"]
    state.definition = data["definition"]
    state.input = dict(data["input"])
    state.variables = dict(data["variables"])
    state.parent = data.get("parent")
    state.started_at = data["at"]
    state.steps = {step_id: StepRun(**run) for step_id, run in data.get("steps", {}).items()}
    state.joins = {join: list(scope) for join, scope in data.get("joins", {}).items()}
    state.status = "running"


def _scheduled(state: ExecutionState, data: dict[str, Any]) -> None:
    run = state.run(data["step_id"])
    if data["visit"]:
        run.visits += 1
        run.retries = 0
    else:
        run.retries += 1
    run.attempt = data["attempt"]
    run.status = "scheduled"
    run.error = None
    waiting = "result" if data["queue"] != "orchestrator" else "decision"
    state.active[data["step_id"]] = Active(data["step_id"], list(data["scope"]), data["attempt"], waiting)


def _succeeded(state: ExecutionState, data: dict[str, Any]) -> None:
    run = state.run(data["step_id"])
    run.status = "succeeded"
    run.output = data["output"]
    run.confidence = data.get("confidence")
    state.active.pop(data["step_id"], None)


def _failed(state: ExecutionState, data: dict[str, Any]) -> None:
    run = state.run(data["step_id"])
    run.status = "failed"
    run.error = data["error"]
    if data.get("retry_at") is not None and data["step_id"] in state.active:
        state.active[data["step_id"]].waiting = "retry"
    else:
        state.active.pop(data["step_id"], None)


def _skipped(state: ExecutionState, data: dict[str, Any]) -> None:
    state.run(data["step_id"]).status = "skipped"
    state.active.pop(data["step_id"], None)


def _waiting(state: ExecutionState, data: dict[str, Any]) -> None:
    state.run(data["step_id"]).status = "waiting"
    state.active[data["step_id"]].waiting = "delay"


def _approval_requested(state: ExecutionState, data: dict[str, Any]) -> None:
    step_id = data["step_id"]
    state.run(step_id).status = "waiting_approval"
    if step_id in state.active:
        state.active[step_id].waiting = "approval"
    else:  # a finished step whose confidence was too low waits again
        state.active[step_id] = Active(step_id, list(data["scope"]), data["attempt"], "approval")


def _approval_decided(state: ExecutionState, data: dict[str, Any]) -> None:
    state.active.pop(data["step_id"], None)
    run = state.run(data["step_id"])
    if run.status == "waiting_approval":
        run.status = "succeeded" if run.output is not None else "scheduled"


def _approval_rejected(state: ExecutionState, data: dict[str, Any]) -> None:
    # The step stays in flight until the step.failed that follows takes it out.
    if data["step_id"] in state.active:
        state.active[data["step_id"]].waiting = "decision"


def _variables_set(state: ExecutionState, data: dict[str, Any]) -> None:
    state.variables.update(data["values"])


def _branches_started(state: ExecutionState, data: dict[str, Any]) -> None:
    state.joins[data["step_id"]] = list(data["scope"])
    state.active.pop(data["step_id"], None)


def _join_completed(state: ExecutionState, data: dict[str, Any]) -> None:
    state.joins.pop(data["step_id"], None)
    run = state.run(data["step_id"])
    run.status = "succeeded" if data["succeeded"] else "failed"
    run.output = {"branches": data["branches"]}


def _completed(state: ExecutionState, data: dict[str, Any]) -> None:
    state.status = "completed"
    state.finished_at = data["at"]


def _stopped(status: str) -> Any:
    def fold_stop(state: ExecutionState, data: dict[str, Any]) -> None:
        state.suspended = list(state.active.values())
        state.active = {}
        state.status = status
        state.finished_at = data["at"]
        state.error = data.get("error")

    return fold_stop


def _resumed(state: ExecutionState, data: dict[str, Any]) -> None:
    state.status = "running"
    state.resumes += 1
    state.finished_at = None
    state.error = None
    state.suspended = []
    for step_id in data.get("abandoned_approvals", []):
        state.active.pop(step_id, None)


def _warning(state: ExecutionState, data: dict[str, Any]) -> None:
    state.warnings.append(data["message"])


_FOLDS = {
    "execution.started": _started,
    "step.scheduled": _scheduled,
    "step.succeeded": _succeeded,
    "step.failed": _failed,
    "step.skipped": _skipped,
    "step.waiting": _waiting,
    "approval.requested": _approval_requested,
    "approval.granted": _approval_decided,
    "approval.rejected": _approval_rejected,
    "variables.set": _variables_set,
    "branches.started": _branches_started,
    "join.completed": _join_completed,
    "execution.completed": _completed,
    "execution.failed": _stopped("failed"),
    "execution.cancelled": _stopped("cancelled"),
    "execution.resumed": _resumed,
    "warning": _warning,
    # recorded for the log only: result.ignored, command.rejected
}
