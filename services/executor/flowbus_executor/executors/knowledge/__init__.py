"""Knowledge step types over the executor's own tables (migration 0008): storing facts
(knowledge_update), answering from them (knowledge_lookup), walking them as a graph
(graphrag_query), searching them with the records integrations cached (app_search) and
checking them for conflicts and near-duplicates (system_reasoning)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.knowledge.facts import knowledge_update
from flowbus_executor.executors.knowledge.graph import graphrag_query
from flowbus_executor.executors.knowledge.lookup import knowledge_lookup
from flowbus_executor.executors.knowledge.reasoning import system_reasoning
from flowbus_executor.executors.knowledge.records import app_search
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepHandler

Step = Callable[[ExecutorDeps, StepRequest], Awaitable[dict[str, Any]]]

STEPS: dict[str, Step] = {
    "knowledge_update": knowledge_update,
    "knowledge_lookup": knowledge_lookup,
    "graphrag_query": graphrag_query,
    "app_search": app_search,
    "system_reasoning": system_reasoning,
}


def handlers(deps: ExecutorDeps) -> dict[str, StepHandler]:
    def bind(step: Step) -> StepHandler:
        async def handle(request: StepRequest) -> dict[str, Any]:
            return await step(deps, request)

        return handle

    return {name: bind(step) for name, step in STEPS.items()}
