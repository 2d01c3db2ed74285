"""The monolith's complexity score of a definition, kept for users who sort by it.

+1 per step, +2 per conditional or parallel step, +3 per NLU step, +1 per
parallel branch, +1 per step-level condition and per conditional branch.
"""

from __future__ import annotations

from typing import Any

from flowbus_orchestrator.domain import routing
from flowbus_orchestrator.domain.definitions import WorkflowDefinition
from flowbus_orchestrator.domain.step_types import STEP_TYPES, queue_of


def complexity_score(definition: WorkflowDefinition) -> int:
    score = 0
    for step in definition.steps.values():
        score += 1
        if step.type in {"conditional_logic", "parallel_execution"}:
            score += 2
        if step.type == "nlu_analysis":
            score += 3
        if step.type == "parallel_execution":
            score += len(routing.parallel_branches(step))
        if step.condition is not None:
            score += 1
    return score


def complexity_report(definition: WorkflowDefinition) -> dict[str, Any]:
    """The score with what it is made of: how many steps, and how many run on each queue."""
    by_queue: dict[str, int] = {}
    for step in definition.steps.values():
        queue = queue_of(step.type) if step.type in STEP_TYPES else "unknown"
        by_queue[queue] = by_queue.get(queue, 0) + 1
    return {
        "score": complexity_score(definition),
        "steps": len(definition.steps),
        "by_queue": dict(sorted(by_queue.items())),
    }
