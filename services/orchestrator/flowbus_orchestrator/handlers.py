"""Thin message handlers: decode was done by the bus; here each message goes to the engine."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence

from flowbus_orchestrator.adapters.definitions import DefinitionRepository
from flowbus_orchestrator.domain.decide import Incoming
from flowbus_orchestrator.engine import Engine
from flowbus_shared.bus import Delivery, MessageBus, RejectMessage
from flowbus_shared.faults import FaultInjector
from flowbus_shared.schemas import StartExecution, TriggerEvent
from flowbus_shared.topics import COMMANDS

log = logging.getLogger("flowbus.orchestrator")

_EXECUTION_NAMESPACE = uuid.UUID("6f1c9a4e-2b7d-4c8e-9a51-3d2f0b7e8c11")


def execution_id_for(trigger: TriggerEvent, workflow_id: str) -> str:
    """Deterministic: the same trigger (idempotency key) starts the same execution, so a
    duplicate trigger starts nothing new."""
    name = f"{trigger.tenant_id}\x00{trigger.dedupe_key()}\x00{workflow_id}"
    return uuid.uuid5(_EXECUTION_NAMESPACE, name).hex


class OrchestratorHandlers:
    def __init__(
        self,
        engine: Engine,
        definitions: DefinitionRepository,
        bus: MessageBus,
        *,
        drain_outbox: Callable[[], Awaitable[None]],
        faults: FaultInjector,
    ) -> None:
        self._engine = engine
        self._definitions = definitions
        self._bus = bus
        self._drain_outbox = drain_outbox
        self._faults = faults

    async def on_message(self, message: Incoming, _delivery: Delivery) -> None:
        """Commands and step results: applied to their execution."""
        await self._engine.handle(message)
        if self._faults.armed("crash-before-commit"):
            await self._drain_outbox()  # published, offset not yet committed
            self._faults.reached("crash-before-commit")

    async def on_messages(self, messages: Sequence[Incoming], _deliveries: Sequence[Delivery]) -> None:
        """Commands and results of one execution that queued up together: applied in one go."""
        await self._engine.handle_many(messages)
        if self._faults.armed("crash-before-commit"):
            await self._drain_outbox()
            for _ in messages:  # the fault counts messages
                self._faults.reached("crash-before-commit")

    async def on_trigger(self, trigger: TriggerEvent, _delivery: Delivery) -> None:
        """Start every workflow the trigger starts (see `workflows_for`)."""
        try:
            workflow_ids = await workflows_for(self._definitions, trigger)
        except UnknownWorkflow as error:
            raise RejectMessage(str(error)) from None
        if not workflow_ids:
            log.info("no workflow listens for %r; trigger %s ignored", trigger.event_type, trigger.message_id)
            return
        for workflow_id in workflow_ids:
            await self._bus.publish(COMMANDS, start_command(trigger, workflow_id))


class UnknownWorkflow(LookupError):
    """A trigger names a workflow its tenant does not have."""


async def workflows_for(definitions: DefinitionRepository, trigger: TriggerEvent) -> list[str]:
    """The workflows a trigger starts: the one it names, or every workflow of its tenant
    listening for its event type (the tenant's own and the built-ins it has not shadowed)."""
    if trigger.workflow_id is not None:
        if await definitions.get(trigger.workflow_id, tenant_id=trigger.tenant_id) is None:
            raise UnknownWorkflow(f"trigger names workflow {trigger.workflow_id!r}, which does not exist")
        return [trigger.workflow_id]
    return await definitions.listening_to(trigger.event_type, tenant_id=trigger.tenant_id)


def start_command(trigger: TriggerEvent, workflow_id: str) -> StartExecution:
    execution_id = execution_id_for(trigger, workflow_id)
    return StartExecution(
        message_id=f"start:{execution_id}",
        execution_id=execution_id,
        workflow_id=workflow_id,
        tenant_id=trigger.tenant_id,
        input={**trigger.payload, "event_type": trigger.event_type},
        trigger_id=trigger.message_id,
        requested_by=trigger.source or "trigger",
    )
