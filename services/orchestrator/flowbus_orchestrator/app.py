"""Wiring of the orchestrator service."""

from __future__ import annotations

from flowbus_orchestrator.adapters.definitions import DefinitionRepository
from flowbus_orchestrator.adapters.projection import ExecutionProjection
from flowbus_orchestrator.background import Poller, outbox_relay, timer_poller
from flowbus_orchestrator.engine import Engine
from flowbus_orchestrator.handlers import OrchestratorHandlers
from flowbus_orchestrator.predefined import predefined_workflows
from flowbus_shared.faults import FaultInjector
from flowbus_shared.runtime import Context
from flowbus_shared.topics import COMMANDS, STEP_RESULTS, TRIGGERS


class OrchestratorService:
    name = "orchestrator"

    def __init__(self, context: Context, *, timer_poll_seconds: float = 0.1) -> None:
        self._context = context
        engine = context.store.engine
        self.definitions = DefinitionRepository(engine)
        self.projection = ExecutionProjection(engine)
        self.relay = Poller("outbox-relay", outbox_relay(context.store, context.bus), idle_seconds=0.5)
        self.timers = Poller("timer-poller", timer_poller(context.store, context.bus), timer_poll_seconds)
        faults = FaultInjector(context.settings.fault_injection)
        self.engine = Engine(
            context.store,
            self.definitions,
            self.projection,
            context.settings,
            on_appended=self.relay.wake.set,
            faults=faults,
        )
        self._relay_step = outbox_relay(context.store, context.bus)
        self.handlers = OrchestratorHandlers(
            self.engine, self.definitions, context.bus, drain_outbox=self.drain_outbox, faults=faults
        )

    async def drain_outbox(self) -> None:
        """Publish everything owed now (tests and shutdown)."""
        while await self._relay_step():
            pass

    def register(self) -> None:
        group = self._context.settings.group("orchestrator")
        bus = self._context.bus
        bus.subscribe(TRIGGERS, group=group, handler=self.handlers.on_trigger)
        # One consumer for both, so the instance that owns an execution's partition sees
        # all its commands and results (they are keyed and partitioned alike).
        bus.subscribe([COMMANDS, STEP_RESULTS], group=group, handler=self.handlers.on_message)

    async def start(self) -> None:
        for definition in predefined_workflows():
            await self.definitions.register(definition)
        # Restore: whatever was owed before a restart (requests, due timers) goes out now.
        self.relay.start()
        self.timers.start()

    async def stop(self) -> None:
        await self.timers.stop()
        await self.relay.stop()


def create_service(context: Context) -> OrchestratorService:
    return OrchestratorService(context)
