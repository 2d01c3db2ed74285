"""The orchestrator's batches, on every database backend: messages of one execution applied together
(`Engine.handle_many`) leave the same log as applied one at a time, and a batch holding a message
seen before is refused whole, then applied one by one as the bus does."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from flowbus_orchestrator.adapters.definitions import DefinitionRepository
from flowbus_orchestrator.adapters.projection import ExecutionProjection
from flowbus_orchestrator.domain.decide import Incoming
from flowbus_orchestrator.domain.validation import parse_definition
from flowbus_orchestrator.engine import Engine
from flowbus_shared.schemas import StartExecution, StepResult
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.store import AlreadyProcessed, SqlEventStore

BRANCHES = [f"b{n}" for n in range(1, 6)]
FANOUT = {
    "id": "batched-fanout",
    "name": "batched fan-out",
    "start_step_id": "first",
    "steps": [
        {"id": "first", "type": "data_transformation", "config": {"output": {}}, "next_steps": ["fan"]},
        {"id": "fan", "type": "parallel_execution", "parallel_steps": BRANCHES, "next_steps": ["join"]},
        *({"id": b, "type": "data_transformation", "config": {"output": {}}} for b in BRANCHES),
        {"id": "join", "type": "data_transformation", "config": {"output": {}}},
    ],
}


@pytest.fixture
async def engine(store: SqlEventStore) -> Engine:
    definitions = DefinitionRepository(store.engine)
    await definitions.register(parse_definition(FANOUT))
    return Engine(store, definitions, ExecutionProjection(store.engine), FlowbusSettings())


def _messages(execution_id: str) -> list[list[Incoming]]:
    """The execution's messages in the batches they could queue up in."""

    def done(step_id: str) -> StepResult:
        return StepResult(
            message_id=f"result:{execution_id}:{step_id}",
            execution_id=execution_id,
            step_id=step_id,
            status="succeeded",
            output={"step": step_id},
        )

    start = StartExecution(
        message_id=f"start:{execution_id}", execution_id=execution_id, workflow_id=FANOUT["id"]
    )
    return [[start], [done("first")], [done(b) for b in BRANCHES], [done("join")]]


def _log(events: list[Any]) -> list[tuple[str, str | None]]:
    return [(e.event_type, e.data.get("step_id")) for e in events]


async def test_a_batch_leaves_the_log_one_at_a_time_leaves(engine: Engine) -> None:
    one_by_one, together = uuid.uuid4().hex, uuid.uuid4().hex
    for batch in _messages(one_by_one):
        for message in batch:
            await engine.handle(message)
    for batch in _messages(together):
        await engine.handle_many(batch)

    expected = await engine.store.read(one_by_one)
    assert _log(await engine.store.read(together)) == _log(expected)
    assert (await engine.replay(together)).status == (await engine.replay(one_by_one)).status == "completed"
    assert (await engine.projection.get(together) or {})["status"] == "completed"
    # each message's id recorded: a redelivery is recognised
    for batch in _messages(together):
        for message in batch:
            assert await engine.store.is_processed("orchestrator", message.message_id)


async def test_a_batch_with_a_message_seen_before_is_refused_then_applied_one_by_one(engine: Engine) -> None:
    execution_id = uuid.uuid4().hex
    start, first, branches, join = _messages(execution_id)
    await engine.handle_many(start)
    await engine.handle_many(first)
    await engine.handle(branches[0])  # handled once already: this batch redelivers it
    with pytest.raises(AlreadyProcessed):
        await engine.handle_many(branches)
    for message in branches:  # what the bus does with a refused batch
        await engine.handle(message)
    await engine.handle_many(join)

    state = await engine.replay(execution_id)
    assert state.status == "completed"
    events = await engine.store.read(execution_id)
    succeeded = [str(e.data["step_id"]) for e in events if e.event_type == "step.succeeded"]
    assert sorted(succeeded) == sorted(["first", *BRANCHES, "join"])  # each once
