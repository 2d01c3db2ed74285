"""The API's view of an execution: folded from its log, with each step's times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flowbus_orchestrator.api.views import execution_view
from flowbus_orchestrator.domain.complexity import complexity_report
from flowbus_orchestrator.domain.validation import parse_definition
from flowbus_shared.store import StoredEvent

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DEFINITION = parse_definition(
    {
        "id": "w",
        "name": "W",
        "start_step_id": "a",
        "steps": [
            {"id": "a", "type": "api_call", "next_steps": ["b"]},
            {"id": "b", "type": "nlu_analysis", "next_steps": ["c"]},
            {"id": "c", "type": "approval_required"},
        ],
    }
)


def log(*events: tuple[str, dict[str, Any]]) -> list[StoredEvent]:
    return [
        StoredEvent("x", n, kind, data, None, T0 + timedelta(seconds=n), n)
        for n, (kind, data) in enumerate(events, start=1)
    ]


def scheduled(step_id: str, attempt: int, *, visit: bool = True) -> tuple[str, dict[str, Any]]:
    return "step.scheduled", {
        "step_id": step_id,
        "attempt": attempt,
        "visit": visit,
        "queue": "executor",
        "scope": [],
    }


def test_a_folded_execution_with_step_times() -> None:
    started = {
        "execution_id": "x",
        "workflow_id": "w",
        "workflow_version": 1,
        "tenant_id": "acme",
        "definition": DEFINITION.model_dump(mode="json"),
        "input": {"n": 1},
        "variables": {"n": 1},
        "at": T0.isoformat(),
    }
    events = log(
        ("execution.started", started),  # 1
        scheduled("a", 1),  # 2
        (
            "step.failed",
            {"step_id": "a", "attempt": 1, "error": {"message": "busy"}, "retry_at": "later"},
        ),  # 3
        scheduled("a", 2, visit=False),  # 4: a retry keeps the visit's start
        ("step.succeeded", {"step_id": "a", "attempt": 2, "output": {"ok": True}}),  # 5
        scheduled("b", 3),  # 6
    )
    folded = execution_view(events)
    assert folded is not None
    state, view = folded
    assert state.tenant_id == "acme"
    assert (view["status"], view["version"], view["input"]) == ("running", 6, {"n": 1})
    assert view["steps"]["a"] == {
        "status": "succeeded",
        "attempts": 2,
        "output": {"ok": True},
        "error": None,
        "started_at": (T0 + timedelta(seconds=2)).isoformat(),
        "finished_at": (T0 + timedelta(seconds=5)).isoformat(),
    }
    assert view["steps"]["b"]["started_at"] == (T0 + timedelta(seconds=6)).isoformat()
    assert view["steps"]["b"]["finished_at"] is None
    assert view["output"] == {"a": {"ok": True}}
    assert view["parent_execution_id"] is None


def test_a_log_without_an_execution_is_none() -> None:
    assert execution_view([]) is None
    assert (
        execution_view(log(("command.rejected", {"command": "command.start", "reason": "no workflow"})))
        is None
    )


def test_the_complexity_report_counts_steps_by_queue() -> None:
    assert complexity_report(DEFINITION) == {
        "score": 6,
        "steps": 3,
        "by_queue": {"executor": 1, "llm": 1, "orchestrator": 1},
    }
