"""`flowbus demo`: a sample workflow end to end on the embedded set-up, narrated.

Two orders arrive as trigger events on the in-process bus. The small one is
fast-tracked; the large one waits for a manager, whom the demo plays by
sending an approve command. Both fan out, join, wait on a durable timer and
finish. Then the demo forks the large order at its approval step with an extra
note, and checks that replaying every log rebuilds the same state.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import typer
import yaml

from flowbus_cli.services import SERVICE_MODULES, factory
from flowbus_orchestrator.app import OrchestratorService
from flowbus_orchestrator.domain.validation import parse_definition
from flowbus_orchestrator.handlers import execution_id_for
from flowbus_shared.runtime import Runtime
from flowbus_shared.schemas import ApproveStep, ForkExecution, TriggerEvent, new_id
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import COMMANDS, TRIGGERS

WORKFLOW = Path(__file__).with_name("demo_workflow.yaml")


async def _wait_for(engine: Any, execution_id: str, statuses: set[str], within: float = 30.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        state = await engine.load(execution_id)
        if state.status in statuses:
            return state
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{execution_id} is still {state.status} after {within} s")
        await asyncio.sleep(0.05)


def _narrate(title: str, events: list[Any]) -> None:
    typer.secho(f"\n{title}", bold=True)
    start = events[0].recorded_at
    for event in events:
        offset = (event.recorded_at - start).total_seconds()
        data = event.data
        detail = data.get("step_id", "")
        if event.event_type == "step.succeeded":
            detail = f"{data['step_id']} -> {data['output']}"
        elif event.event_type == "execution.started":
            detail = f"{data['workflow_id']} v{data['workflow_version']} input={data['input']}"
        elif event.event_type == "variables.set":
            detail = ", ".join(sorted(data["values"]))
        elif event.event_type in {"approval.requested", "approval.granted"}:
            detail = f"{data['step_id']} ({data.get('reason') or data.get('by')})"
        typer.echo(f"  +{offset:6.3f}s  v{event.version:<3} {event.event_type:<20} {detail}")


async def run_demo(settings: FlowbusSettings) -> None:
    runtime = Runtime(settings, [factory(name) for name in SERVICE_MODULES], name="flowbus-demo")
    context = await runtime.start()
    try:
        orchestrator = next(s for s in runtime.services if isinstance(s, OrchestratorService))
        definition = await orchestrator.definitions.register(
            parse_definition(yaml.safe_load(WORKFLOW.read_text()))
        )
        typer.echo(
            f"registered workflow {definition.id} v{definition.version} ({len(definition.steps)} steps)"
        )
        orders = {
            "small": {"customer": "Ada", "total": 120, "items": ["notebook"]},
            "large": {"customer": "Grace", "total": 4800, "items": ["server", "rack"]},
        }
        ids = {}
        for name, order in orders.items():
            trigger = TriggerEvent(event_type="order_received", payload=order, idempotency_key=f"demo-{name}")
            await context.bus.publish(TRIGGERS, trigger)
            ids[name] = execution_id_for(trigger, definition.id)
        engine = orchestrator.engine
        await _wait_for(engine, ids["large"], {"waiting_approval"})
        typer.echo("the large order waits for a manager; approving it as 'manager@example.com'")
        await context.bus.publish(
            COMMANDS,
            ApproveStep(
                execution_id=ids["large"],
                step_id="manager_approval",
                approved_by="manager@example.com",
                comment="looks fine",
            ),
        )
        for name in orders:
            await _wait_for(engine, ids[name], {"completed", "failed"})
            _narrate(f"{name} order: execution {ids[name]}", await context.store.read(ids[name]))

        fork_id = new_id()
        await context.bus.publish(
            COMMANDS,
            ForkExecution(
                execution_id=fork_id,
                source_execution_id=ids["large"],
                step_id="manager_approval",
                variable_overrides={"note": "forked with the approval pending again"},
            ),
        )
        forked = await _wait_for(engine, fork_id, {"waiting_approval"})
        typer.secho(f"\nfork {fork_id} of the large order at manager_approval:", bold=True)
        typer.echo(f"  status {forked.status}; copied outputs: {sorted(forked.outputs())}")
        typer.echo(f"  parent {forked.parent}")

        for execution_id in [*ids.values(), fork_id]:
            replayed = await engine.replay(execution_id)
            live = await engine.load(execution_id)
            assert replayed.to_dict() == live.to_dict(), f"replay of {execution_id} differs"
        summary = (await engine.load(ids["large"])).steps["summary"].output
        typer.secho("\nreplay check: the log of all 3 executions folds to their live state", fg="green")
        typer.secho(f"large order summary: {summary['message'] if summary else None}", fg="green")
    finally:
        await runtime.stop()


def demo(database: Path) -> None:
    os.environ.setdefault("FLOWBUS_LLM_LOCAL_RULES", "true")
    os.environ.setdefault("FLOWBUS_LLM_HTTP_ENABLED", "false")  # a demo serves no API (and takes no port)
    os.environ.setdefault("FLOWBUS_GOVERNANCE_HTTP_ENABLED", "false")
    os.environ.setdefault("FLOWBUS_EXECUTOR_HTTP_ENABLED", "false")
    os.environ.setdefault("FLOWBUS_ORCHESTRATOR_HTTP_ENABLED", "false")
    database.parent.mkdir(parents=True, exist_ok=True)
    settings = FlowbusSettings(
        bus="memory", database_url=f"sqlite+aiosqlite:///{database}", log_level="WARNING"
    )
    asyncio.run(run_demo(settings))
