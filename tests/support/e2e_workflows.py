"""Workflows, triggers and waiting for the end-to-end suite.

Triggers and commands are hand-written JSON dicts (what a kcat user types), published with a plain
Kafka producer. Executions are followed in their event log, folded the way the orchestrator folds
it. Workflows are registered through the orchestrator's HTTP API as the tenant's own: the predefined
ones with their delays (24 hours, days) cut to under a second, otherwise as shipped.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx

from flowbus_orchestrator.domain.state import ExecutionState, fold
from flowbus_orchestrator.handlers import execution_id_for
from flowbus_orchestrator.predefined import predefined_workflows
from flowbus_shared.schemas import TriggerEvent
from tests.support.e2e_kafka import PlainProducer
from tests.support.e2e_system import TENANT, E2ESystem
from tests.support.waiting import wait_until

TERMINAL = ("completed", "failed", "cancelled")
SHORT_DELAY_SECONDS = 0.3


def shortened(workflow_id: str, delay_seconds: float = SHORT_DELAY_SECONDS) -> dict[str, Any]:
    """The predefined workflow as shipped, with every delay cut to `delay_seconds`."""
    definition = next(d for d in predefined_workflows() if d.id == workflow_id)
    data: dict[str, Any] = copy.deepcopy(definition.model_dump(mode="json", exclude={"version"}))
    for step in data["steps"].values():
        if step["type"] == "delay":
            step["config"] = {"delay_seconds": delay_seconds}
    return data


def api(system: E2ESystem) -> httpx.AsyncClient:
    """The orchestrator's HTTP API as the test user (an admin key from `flowbus apikeys create`)."""
    return httpx.AsyncClient(
        base_url=system.url("orchestrator"),
        headers={"authorization": f"Bearer {system.tokens['user']}"},
        timeout=90,
    )


async def register(system: E2ESystem, definition: dict[str, Any]) -> int:
    """POST /v1/workflows: `definition` becomes the tenant's newest version of its workflow (a
    tenant's own workflow shadows a built-in of the same id); the version the next start pins."""
    async with api(system) as client:
        answer = await client.post("/v1/workflows", json=definition)
    assert answer.status_code in (200, 201), answer.text
    version: int = answer.json()["version"]
    return version


def trigger(event_type: str, payload: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A TriggerEvent as a Kafka client writes it by hand (`type` left out, as the README allows)."""
    return {
        "event_type": event_type,
        "tenant_id": TENANT,
        "payload": payload,
        "idempotency_key": f"e2e-{uuid.uuid4().hex}",
        **fields,
    }


def execution_of(trigger_dict: dict[str, Any], workflow_id: str) -> str:
    """The execution a trigger starts (the orchestrator derives it from the idempotency key)."""
    return execution_id_for(TriggerEvent.model_validate(trigger_dict), workflow_id)


async def send_trigger(system: E2ESystem, producer: PlainProducer, trigger_dict: dict[str, Any]) -> None:
    await producer.send(system.topic("triggers"), trigger_dict, key=trigger_dict.get("idempotency_key"))


async def send_command(system: E2ESystem, producer: PlainProducer, command: dict[str, Any]) -> None:
    """An execution command (`type` command.start|resume|fork|approve|...), keyed by execution."""
    body = {"message_id": f"e2e-{uuid.uuid4().hex}", **command}
    await producer.send(system.topic("commands"), body, key=str(command["execution_id"]))


async def start(
    system: E2ESystem,
    producer: PlainProducer,
    definition: dict[str, Any],
    payload: dict[str, Any] | None = None,
) -> str:
    """Register `definition` and start it with a trigger naming it; the execution id."""
    await register(system, definition)
    sent = trigger("e2e_started", payload or {}, workflow_id=definition["id"])
    await send_trigger(system, producer, sent)
    return execution_of(sent, definition["id"])


def slack_step(step_id: str, message: str, **more: Any) -> dict[str, Any]:
    """A slack_notification step posting `message` to #e2e."""
    return {
        "id": step_id,
        "type": "slack_notification",
        "config": {"channel": "#e2e", "message": message},
        **more,
    }


async def state(system: E2ESystem, execution_id: str) -> ExecutionState:
    return fold(await system.events(execution_id))


async def wait_for(
    system: E2ESystem, execution_id: str, *statuses: str, within: float = 60.0
) -> ExecutionState:
    """Until the execution's status is one of `statuses` (default: any terminal one)."""
    wanted = statuses or TERMINAL

    async def reached() -> bool:
        return (await state(system, execution_id)).status in wanted

    await wait_until(reached, within=within, interval=0.1, message=f"{execution_id} to be {'/'.join(wanted)}")
    return await state(system, execution_id)


def succeeded(execution: ExecutionState) -> set[str]:
    return {step_id for step_id, run in execution.steps.items() if run.status == "succeeded"}


def output(execution: ExecutionState, step_id: str) -> dict[str, Any]:
    return dict(execution.steps[step_id].output or {})
