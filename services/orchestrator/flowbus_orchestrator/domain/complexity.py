"""The monolith's complexity score of a definition, kept for users who sort by it.

+1 per step, +2 per conditional or parallel step, +3 per NLU step, +1 per
parallel branch, +1 per step-level condition and per conditional branch.
"""

from __future__ import annotations

from flowbus_orchestrator.domain import routing
from flowbus_orchestrator.domain.definitions import WorkflowDefinition


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
