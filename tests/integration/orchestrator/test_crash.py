"""Exactly-once across crashes: the orchestrator process is SIGKILLed between appending
and publishing, and between publishing and committing its offset. A restarted
orchestrator completes every execution; no step attempt is requested twice with
different content, and no step's side effect runs twice for one attempt."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowbus_orchestrator.adapters.definitions import DefinitionRepository
from flowbus_orchestrator.domain.state import fold
from flowbus_orchestrator.domain.validation import parse_definition
from flowbus_shared.runtime import Runtime
from flowbus_shared.schemas import StartExecution, new_id
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.store import open_store
from flowbus_shared.topics import COMMANDS
from tests.support.processes import ServiceProcess, service_env
from tests.support.system import TestSteps, step_workers
from tests.support.waiting import wait_until

EXECUTIONS = 10


def chain(workflow_id: str) -> dict[str, object]:
    steps = [
        {
            "id": f"s{n}",
            "type": "api_call",
            "config": {"n": n, "previous": "{{input.seed}}"},
            "next_steps": [f"s{n + 1}"] if n < 3 else [],
        }
        for n in range(1, 4)
    ]
    return {"id": workflow_id, "name": "crash chain", "start_step_id": "s1", "steps": steps}


@pytest.mark.parametrize("crash_point", ["crash-after-append", "crash-before-commit"])
async def test_the_orchestrator_recovers_from_sigkill(
    system_settings: FlowbusSettings, topic_prefix: str, tmp_path: Path, crash_point: str
) -> None:
    store = await open_store(system_settings.database_url)
    workflow_id = f"chain-{topic_prefix}"
    await DefinitionRepository(store.engine).register(parse_definition(chain(workflow_id)))
    steps = TestSteps()
    workers = Runtime(system_settings, step_workers(steps, ["api_call"]), name="test-workers")
    context = await workers.start()
    log = tmp_path / "orchestrator.log"
    # the 7th message handled: some executions are mid-way, others not started
    no_http = {"FLOWBUS_ORCHESTRATOR_HTTP_ENABLED": "false"}
    doomed = ServiceProcess(
        "orchestrator",
        service_env(system_settings, FLOWBUS_FAULT_INJECTION=f"{crash_point}:7", **no_http),
        log,
    )
    survivor = ServiceProcess("orchestrator", service_env(system_settings, **no_http), log)
    try:
        await doomed.start()
        await doomed.wait_started()
        ids = [new_id() for _ in range(EXECUTIONS)]
        for execution_id in ids:
            await context.bus.publish(
                COMMANDS,
                StartExecution(execution_id=execution_id, workflow_id=workflow_id, input={"seed": 1}),
            )
        assert await doomed.wait_exit() == -9, log.read_text()[-2000:]

        await survivor.start()

        async def all_completed() -> bool:
            for execution_id in ids:
                events = await store.read(execution_id)
                if not events or events[-1].event_type != "execution.completed":
                    return False
            return True

        await wait_until(all_completed, within=90, message="every execution to complete after the crash")
    finally:
        await survivor.stop()
        await doomed.stop()
        await workers.stop()

    for key, received in steps.received.items():
        assert len({request.model_dump_json(exclude={"occurred_at"}) for request in received}) == 1, key
        assert steps.executions[key] == 1, f"{key} ran {steps.executions[key]} times"
    assert len(steps.executions) == EXECUTIONS * 3  # s1..s3, one attempt each
    for execution_id in ids:
        events = await store.read(execution_id)
        scheduled = [
            (e.data["step_id"], e.data["attempt"]) for e in events if e.event_type == "step.scheduled"
        ]
        assert len(scheduled) == len(set(scheduled)) == 3
        assert fold((e.event_type, e.data) for e in events).status == "completed"
    await store.close()
