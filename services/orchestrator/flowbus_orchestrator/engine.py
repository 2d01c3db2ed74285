"""The orchestrator's use case: apply one message to one execution, exactly once.

load (cached state + later events) -> decide -> append the events, the id of
the message, the owed messages (outbox) and timers in one transaction with an
optimistic version check -> wake the relay. A crash anywhere leaves either
nothing recorded (the message is redelivered and decided again) or
everything recorded (the redelivery is recognised by its id, and the relay
still publishes what is owed).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from opentelemetry.trace import SpanContext

from flowbus_orchestrator.adapters.definitions import DefinitionRepository
from flowbus_orchestrator.adapters.projection import ExecutionProjection
from flowbus_orchestrator.domain.decide import Incoming, decide
from flowbus_orchestrator.domain.progression import Decision
from flowbus_orchestrator.domain.state import ExecutionState, fold
from flowbus_orchestrator.tracing import emit_decision_spans, request_headers, root_of, under_root
from flowbus_shared import metrics
from flowbus_shared.execution_trace import root_context, traceparent
from flowbus_shared.faults import FaultInjector
from flowbus_shared.schemas import ExecutionEventRecord, ForkExecution, StartExecution, encode
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.store import (
    AlreadyProcessed,
    Append,
    Causation,
    ConcurrencyConflict,
    NewEvent,
    OutboxMessage,
    RowWrite,
    Snapshot,
    SqlEventStore,
    TimerSpec,
)
from flowbus_shared.store.group_commit import GroupCommit
from flowbus_shared.topics import COMMANDS, EXECUTION_EVENTS, STEP_QUEUES

log = logging.getLogger("flowbus.orchestrator")

CONSUMER = "orchestrator"
SNAPSHOT_EVERY = 100
CACHE_SIZE = 10_000
MAX_CONFLICT_RETRIES = 8


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Engine:
    def __init__(
        self,
        store: SqlEventStore,
        definitions: DefinitionRepository,
        projection: ExecutionProjection,
        settings: FlowbusSettings,
        *,
        on_appended: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = _utc_now,
        faults: FaultInjector | None = None,
    ) -> None:
        self._faults = faults or FaultInjector(None)
        self.store = store
        self._appends = GroupCommit(store)  # concurrent decisions share a transaction
        self.definitions = definitions
        self.projection = projection
        self._settings = settings
        self._on_appended = on_appended
        self._clock = clock
        self._states: OrderedDict[str, ExecutionState] = OrderedDict()

    async def load(self, execution_id: str) -> ExecutionState:
        """The execution's state: the cached one as it is, else the snapshot plus later events.

        A cached state is used without asking the log for later events: if another instance
        appended meanwhile (a rebalance), the append's version check refuses the decision and
        `handle` drops the cache and decides again on the log's state."""
        state = self._states.get(execution_id)
        if state is not None:
            return state
        return await self._catch_up(execution_id, await self._snapshot(execution_id))

    async def current(self, execution_id: str) -> ExecutionState:
        """The state now, for readers beside the engine (the HTTP API): from the snapshot and
        later events, leaving the engine's cache alone (folding into it is the engine's job)."""
        return await self._catch_up(execution_id, await self._snapshot(execution_id))

    async def _snapshot(self, execution_id: str) -> ExecutionState:
        snapshot = await self.store.load_snapshot(execution_id)
        return ExecutionState.from_dict(snapshot.state) if snapshot else ExecutionState()

    async def _catch_up(self, execution_id: str, state: ExecutionState) -> ExecutionState:
        later = await self.store.read(execution_id, after_version=state.version)
        return fold(((e.event_type, e.data) for e in later), state)

    async def replay(self, execution_id: str) -> ExecutionState:
        """State folded from the whole log, ignoring cache and snapshots."""
        return fold((e.event_type, e.data) for e in await self.store.read(execution_id))

    async def handle(self, message: Incoming) -> None:
        # No "seen it?" query first: the append records the message id, and a duplicate
        # fails there (AlreadyProcessed) with nothing written.
        for _ in range(MAX_CONFLICT_RETRIES):
            state = await self.load(message.execution_id)
            decision = await self._decide(state, message)
            try:
                await self._record(state, message, decision)
            except ConcurrencyConflict:
                self._states.pop(message.execution_id, None)
                continue
            except AlreadyProcessed:
                return
            return
        raise RuntimeError(f"execution {message.execution_id} kept changing under us; redelivering")

    async def _decide(self, state: ExecutionState, message: Incoming) -> Decision:
        definition = None
        fork_source = None
        if isinstance(message, StartExecution) and state.version == 0:
            definition = await self.definitions.get(
                message.workflow_id, message.workflow_version, tenant_id=message.tenant_id
            )
        if isinstance(message, ForkExecution) and state.version == 0:
            fork_source = [(e.event_type, e.data) for e in await self.store.read(message.source_execution_id)]
        return decide(state, message, self._clock(), definition=definition, fork_source=fork_source)

    async def handle_many(self, messages: Sequence[Incoming]) -> None:
        """Messages of one execution that queued up together, in order: each decided on the state the
        one before it left, all appended in one transaction (an Append each: its own message id,
        outbox and timers). Raises if any is not recorded (a conflict, one seen before): the bus then
        delivers each again on its own, and those recorded here are recognised by their ids."""
        execution_id = messages[0].execution_id
        if any(m.execution_id != execution_id for m in messages):
            raise ValueError("a batch of messages about more than one execution")
        state = await self.load(execution_id)
        decided: list[tuple[ExecutionState, Incoming, Decision]] = []
        for message in messages:
            decision = await self._decide(state, message)
            decided.append((state, message, decision))
            state = decision.state
        appends = [self._append(*entry) for entry in decided]
        outcomes = await self._appends.append_all(appends)
        failed = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        for (before, _, decision), append, outcome in zip(decided, appends, outcomes, strict=True):
            if not isinstance(outcome, BaseException):
                await self._appended(before, decision, append)
        if failed:
            self._states.pop(execution_id, None)  # what the log holds now is for `handle` to read
            raise failed[0]

    async def _record(self, state: ExecutionState, message: Incoming, decision: Decision) -> None:
        append = self._append(state, message, decision)
        await self._appends.append(append)
        await self._appended(state, decision, append)

    def _append(self, state: ExecutionState, message: Incoming, decision: Decision) -> Append:
        after = decision.state
        timers = [
            TimerSpec(
                timer.timer_id,
                after.execution_id,
                timer.fire_at,
                # The timer says where to fire: several deployments may share a database.
                {
                    "purpose": timer.purpose,
                    "step_id": timer.step_id,
                    "attempt": timer.attempt,
                    "topic": self.commands_topic(),
                    "traceparent": traceparent(root_of(after)),
                },
            )
            for timer in decision.timers
        ]
        return Append(
            message.execution_id,
            state.version,
            [NewEvent(event_type, data) for event_type, data in decision.events],
            causation=Causation(CONSUMER, message.message_id),
            outbox=self._outbox(state, decision),
            timers=timers,
            cancel_timers=decision.cancel_timers,
            also=self._projection_row(after, decision),
        )

    async def _appended(self, state: ExecutionState, decision: Decision, append: Append) -> None:
        """What follows a recorded decision: spans, metrics, the relay's wake-up, the cache, snapshots."""
        after = decision.state
        self._faults.reached("crash-after-append")  # recorded, nothing published yet
        emit_decision_spans(state, after, decision.events, fork_parent=self._fork_parent(after, decision))
        metrics.execution_events(after.workflow_id, after.definition, decision.events)
        if append.outbox:
            self._on_appended()
        self._remember(after)
        if decision.events and after.version // SNAPSHOT_EVERY > state.version // SNAPSHOT_EVERY:
            await self.store.save_snapshot(
                Snapshot(after.execution_id, after.version, after.to_dict(), self._clock())
            )

    def _outbox(self, before: ExecutionState, decision: Decision) -> list[OutboxMessage]:
        after = decision.state
        messages = [
            OutboxMessage(
                topic=self._settings.topic(STEP_QUEUES[queue].suffix),
                key=request.partition_key(),
                payload=encode(request),
                headers=request_headers(after, request),
            )
            for queue, request in decision.requests
        ]
        topic = self._settings.topic(EXECUTION_EVENTS.suffix)
        for offset, (event_type, data) in enumerate(decision.events, start=1):
            if not after.execution_id:
                break  # nothing started (a rejected start): no execution to report on
            record = ExecutionEventRecord(
                message_id=f"{after.execution_id}:{before.version + offset}",
                execution_id=after.execution_id,
                workflow_id=after.workflow_id,
                tenant_id=after.tenant_id,
                version=before.version + offset,
                event_type=event_type,
                data=data,
            )
            messages.append(
                OutboxMessage(topic, record.execution_id, encode(record), under_root(after, record))
            )
        return messages

    def _projection_row(self, after: ExecutionState, decision: Decision) -> list[RowWrite]:
        write = self.projection.upsert(after) if decision.events else None
        return [write] if write is not None else []

    @staticmethod
    def _fork_parent(after: ExecutionState, decision: Decision) -> SpanContext | None:
        """The root of the trace a fork was taken from: the source's trace at the fork point."""
        if not after.parent or not any(kind == "execution.started" for kind, _ in decision.events):
            return None
        return root_context(str(after.parent["execution_id"]), int(after.parent.get("resumes", 0)))

    def _remember(self, state: ExecutionState) -> None:
        self._states[state.execution_id] = state
        self._states.move_to_end(state.execution_id)
        while len(self._states) > CACHE_SIZE:
            self._states.popitem(last=False)

    def commands_topic(self) -> str:
        return self._settings.topic(COMMANDS.suffix)
