"""Shared builders for the decide() tests: workflow definitions, started harnesses, fake executors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowbus_orchestrator.domain.definitions import WorkflowDefinition
from flowbus_orchestrator.domain.validation import parse_definition
from flowbus_orchestrator.predefined import predefined_workflows
from flowbus_shared.schemas import StepRequest
from tests.unit.orchestrator.harness import Harness


def define(*steps: dict[str, Any], start: str | None = None) -> WorkflowDefinition:
    return parse_definition(
        {"id": "wf", "name": "test workflow", "start_step_id": start or steps[0]["id"], "steps": list(steps)}
    )


def step(step_id: str, type_: str = "api_call", *then: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": type_, "next_steps": list(then), **extra}


def started(definition: WorkflowDefinition, input_: dict[str, Any] | None = None) -> Harness:
    harness = Harness(definition)
    harness.start(input_ or {})
    return harness


def echo(request: StepRequest) -> dict[str, Any]:
    return {"step": request.step_id}


def predefined(workflow_id: str) -> WorkflowDefinition:
    (definition,) = [w for w in predefined_workflows() if w.id == workflow_id]
    return definition


def executor(nlu: dict[str, Any], ticket_status: str = "resolved") -> Callable[[StepRequest], dict[str, Any]]:
    def answer(request: StepRequest) -> dict[str, Any]:
        if request.step_type == "nlu_analysis":
            return dict(nlu)
        if request.step_type == "data_transformation":
            return dict(request.config.get("output", {}))
        if request.step_id == "fetch_ticket_status":
            return {"status": 200, "body": {"status": ticket_status}}
        return {"ok": True, "step": request.step_id}

    return answer


LINEAR = define(
    step("a", "data_transformation", "b", config={"output": {"n": "{{input.n}}"}}),
    step("b", "api_call", "c", config={"value": "{{a.n}}"}),
    step("c", "email_send"),
)


FAN = define(
    step("p", "parallel_execution", "after", parallel_steps=["b1", "b2", "b3"]),
    step("b1", "api_call", "b1x"),
    step("b1x"),
    step("b2"),
    step("b3"),
    step("after"),
)


RETRYING = define(
    step(
        "a",
        "api_call",
        "b",
        retry_policy={"max_retries": 2, "initial_delay_seconds": 5, "exponential_base": 3},
    ),
    step("b"),
)


APPROVAL = define(
    step("ask", "approval_required", "b", config={"reason": "big order", "expires_in_seconds": 60}),
    step("b"),
)
