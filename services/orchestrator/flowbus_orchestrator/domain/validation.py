"""Validation of a whole definition, each fault reported with its path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from flowbus_orchestrator.domain import routing
from flowbus_orchestrator.domain.definitions import WorkflowDefinition
from flowbus_orchestrator.domain.step_types import STEP_TYPES


@dataclass(frozen=True)
class Fault:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DefinitionError(ValueError):
    def __init__(self, faults: list[Fault]) -> None:
        super().__init__("; ".join(str(fault) for fault in faults))
        self.faults = faults


def parse_definition(data: Any) -> WorkflowDefinition:
    """A checked definition from decoded JSON/YAML, or DefinitionError with every fault."""
    try:
        definition = WorkflowDefinition.model_validate(data)
    except ValidationError as error:
        raise DefinitionError(
            [
                Fault(".".join(str(p) for p in item["loc"]) or "(definition)", item["msg"])
                for item in error.errors(include_url=False)
            ]
        ) from None
    faults = check(definition)
    if faults:
        raise DefinitionError(faults)
    return definition


def check(definition: WorkflowDefinition) -> list[Fault]:
    faults: list[Fault] = []
    if definition.start_step_id not in definition.steps:
        faults.append(Fault("start_step_id", f"no step {definition.start_step_id!r}"))
    graph: dict[str, list[str]] = {}
    for step in definition.steps.values():
        if step.type not in STEP_TYPES:
            faults.append(Fault(f"steps.{step.id}.type", f"unknown step type {step.type!r}"))
        try:
            routing.step_condition(step)
            if step.type == "delay":
                routing.delay_seconds(step)
            if step.type == "parallel_execution" and not routing.parallel_branches(step):
                faults.append(Fault(f"steps.{step.id}.parallel_steps", "a parallel step needs branches"))
            step_edges = routing.edges(step)
        except routing.RoutingError as error:
            faults.append(Fault(error.path, error.message))
            step_edges = [(t, f"steps.{step.id}.next_steps[{i}]") for i, t in enumerate(step.next_steps)]
        graph[step.id] = []
        for target, path in step_edges:
            if target in definition.steps:
                graph[step.id].append(target)
            else:
                faults.append(Fault(path, f"no step {target!r}"))
    if faults:
        return faults
    reachable = _reachable(graph, definition.start_step_id)
    for step_id in definition.steps:
        if step_id not in reachable:
            faults.append(Fault(f"steps.{step_id}", "unreachable from start_step_id"))
    for component in _cycles(graph):
        bounded = any(
            definition.steps[s].type == "delay" or definition.steps[s].max_visits is not None
            for s in component
        )
        if not bounded:
            loop = " -> ".join(sorted(component))
            faults.append(
                Fault(f"steps.{sorted(component)[0]}", f"cycle {loop} needs a delay step or max_visits")
            )
    return faults


def _reachable(graph: dict[str, list[str]], start: str) -> set[str]:
    seen, pending = {start}, [start]
    while pending:
        for target in graph.get(pending.pop(), []):
            if target not in seen:
                seen.add(target)
                pending.append(target)
    return seen


def _cycles(graph: dict[str, list[str]]) -> list[set[str]]:
    """Strongly connected components that loop (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = graph[node]
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found
