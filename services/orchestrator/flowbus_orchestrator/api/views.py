"""What the API answers: workflow summaries, execution summaries (projection rows) and whole
executions folded from their event log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flowbus_orchestrator.adapters.definitions import StoredDefinition
from flowbus_orchestrator.adapters.execution_queries import as_utc
from flowbus_orchestrator.domain.complexity import complexity_report
from flowbus_orchestrator.domain.state import ExecutionState, apply
from flowbus_orchestrator.tracing import trace_id_of
from flowbus_shared.store import StoredEvent

_STEP_ENDS = frozenset({"step.succeeded", "step.failed", "step.skipped", "join.completed"})


def iso(moment: datetime | None) -> str | None:
    utc = as_utc(moment)
    return utc.isoformat() if utc is not None else None


def workflow_summary(stored: StoredDefinition) -> dict[str, Any]:
    definition = stored.definition
    return {
        "workflow_id": definition.id,
        "name": definition.name,
        "description": definition.description,
        "version": definition.version,
        "triggers": list(definition.triggers),
        "step_count": len(definition.steps),
        "complexity": complexity_report(definition),
        "created_at": iso(stored.created_at),
        "builtin": stored.builtin,
    }


def workflow_detail(stored: StoredDefinition, versions: list[int]) -> dict[str, Any]:
    return {
        **workflow_summary(stored),
        "definition": stored.definition.model_dump(mode="json"),
        "versions": versions,
    }


def execution_summary(row: dict[str, Any]) -> dict[str, Any]:
    """From a row of the executions projection."""
    return {
        "execution_id": row["execution_id"],
        "workflow_id": row["workflow_id"],
        "workflow_version": row["workflow_version"],
        "status": row["status"],
        "started_at": iso(row["started_at"]),
        "finished_at": iso(row["finished_at"]),
        "parent_execution_id": row["parent_execution_id"],
        "fork_step_id": row["fork_step_id"],
        "version": row["version"],
    }


def execution_view(events: Sequence[StoredEvent]) -> tuple[ExecutionState, dict[str, Any]] | None:
    """The execution folded from its whole log, with when each step's latest visit started
    and ended (from the events' recording times); None if the log holds no execution."""
    state = ExecutionState()
    started: dict[str, datetime] = {}
    finished: dict[str, datetime] = {}
    for event in events:
        apply(state, event.event_type, event.data)
        step_id = event.data.get("step_id")
        if not isinstance(step_id, str):
            continue
        if event.event_type == "step.scheduled":
            finished.pop(step_id, None)
            if event.data.get("visit") or step_id not in started:
                started[step_id] = event.recorded_at
        elif event.event_type in _STEP_ENDS:
            finished[step_id] = event.recorded_at
    if not state.execution_id:
        return None
    parent = state.parent or {}
    steps = {
        step_id: {
            "status": run.status,
            "attempts": run.attempt,
            "output": run.output,
            "error": run.error,
            "started_at": iso(started.get(step_id)),
            "finished_at": iso(finished.get(step_id)),
        }
        for step_id, run in state.steps.items()
    }
    view = {
        "execution_id": state.execution_id,
        "workflow_id": state.workflow_id,
        "workflow_version": state.workflow_version,
        "status": state.status,
        "started_at": state.started_at,
        "finished_at": state.finished_at,
        "parent_execution_id": parent.get("execution_id"),
        "fork_step_id": parent.get("step_id"),
        "version": state.version,
        "input": state.input,
        "variables": state.variables,
        "steps": steps,
        "output": state.outputs(),
        "error": state.error,
        "warnings": list(state.warnings),
        "trace_id": trace_id_of(state),  # the trace it runs in now (a resume starts a new one)
    }
    return state, view
