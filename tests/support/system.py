"""A whole flowbus in one test process: the real orchestrator service plus scriptable
test step workers (standing in for executor, llm-gateway and governance), on
whichever bus and database the settings name."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from flowbus_executor.executors.data import transform
from flowbus_orchestrator.app import OrchestratorService
from flowbus_orchestrator.domain.definitions import WorkflowDefinition
from flowbus_orchestrator.domain.state import ExecutionState
from flowbus_orchestrator.domain.validation import parse_definition
from flowbus_shared.attempts import AttemptLog
from flowbus_shared.runtime import Context, Runtime, Service, ServiceFactory
from flowbus_shared.schemas import StepRequest
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.step_worker import StepHandler, StepWorker
from flowbus_shared.topics import STEP_QUEUES
from tests.support.waiting import wait_until

Behaviour = Callable[[StepRequest], Awaitable[dict[str, Any]]]


class TestSteps:
    """Answers steps by type and records every request it receives.

    Like a real executor it remembers each idempotency key's answer: a
    redelivered request gets the recorded output instead of running again.
    """

    __test__ = False

    def __init__(self, behaviours: dict[str, Behaviour] | None = None) -> None:
        self.behaviours = dict(behaviours or {})
        self.received: dict[str, list[StepRequest]] = defaultdict(list)
        self.executions: dict[str, int] = defaultdict(int)  # side effects per idempotency key
        self._answers: dict[str, dict[str, Any]] = {}

    def handler(self, step_type: str) -> StepHandler:
        async def handle(request: StepRequest) -> dict[str, Any]:
            self.received[request.idempotency_key].append(request)
            if request.idempotency_key in self._answers:
                return self._answers[request.idempotency_key]
            behaviour = self.behaviours.get(step_type, DEFAULT_BEHAVIOURS.get(step_type, echo))
            output = await behaviour(request)
            self.executions[request.idempotency_key] += 1
            self._answers[request.idempotency_key] = output
            return output

        return handle

    def handlers(self, step_types: list[str]) -> dict[str, StepHandler]:
        return {step_type: self.handler(step_type) for step_type in step_types}


async def echo(request: StepRequest) -> dict[str, Any]:
    return {"echo": request.config, "step": request.step_id}


# Steps that need no remote service run their real executor.
async def data_transformation(request: StepRequest) -> dict[str, Any]:
    return transform(request.config)


DEFAULT_BEHAVIOURS: dict[str, Behaviour] = {"data_transformation": data_transformation}


def step_workers(
    steps: TestSteps, step_types: list[str], *, skip_queues: frozenset[str] = frozenset()
) -> list[ServiceFactory]:
    def factory(queue: str) -> Callable[[Context], Service]:
        def create(context: Context) -> Service:
            return StepWorker(
                name=f"test-{queue}",
                bus=context.bus,
                queue=STEP_QUEUES[queue],
                group=context.settings.group(f"test-{queue}"),
                handlers=steps.handlers(step_types),
                attempts=AttemptLog(context.store.engine),
            )

        return create

    return [factory(queue) for queue in STEP_QUEUES if queue not in skip_queues]


class System:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @property
    def orchestrator(self) -> OrchestratorService:
        return next(s for s in self.runtime.services if isinstance(s, OrchestratorService))

    @property
    def context(self) -> Context:
        return self.runtime.context

    async def register(self, data: dict[str, Any]) -> WorkflowDefinition:
        return await self.orchestrator.definitions.register(parse_definition(data))

    async def state(self, execution_id: str) -> ExecutionState:
        return await self.orchestrator.engine.replay(execution_id)

    async def wait_for_status(
        self, execution_id: str, *statuses: str, within: float = 30.0
    ) -> ExecutionState:
        async def reached() -> bool:
            return (await self.state(execution_id)).status in statuses

        await wait_until(reached, within=within, message=f"{execution_id} to be {' or '.join(statuses)}")
        return await self.state(execution_id)


@asynccontextmanager
async def running_system(
    settings: FlowbusSettings,
    steps: TestSteps,
    step_types: list[str],
    *,
    with_workers: bool = True,
    services: dict[str, ServiceFactory] | None = None,
) -> AsyncIterator[System]:
    """`services` maps a step queue to the real service that answers it instead of test steps."""
    from flowbus_orchestrator.app import create_service

    real = services or {}
    factories: list[ServiceFactory] = [create_service, *real.values()]
    if with_workers:
        factories += step_workers(steps, step_types, skip_queues=frozenset(real))
    runtime = Runtime(settings, factories, name="flowbus-test")
    await runtime.start()
    try:
        yield System(runtime)
    finally:
        await runtime.stop()
