"""The attempt log's contract, on every database backend: the first result recorded for an
idempotency key is the one every later delivery gets, also when two record at once."""

from __future__ import annotations

import asyncio
import uuid

from flowbus_shared.attempts import AttemptLog
from flowbus_shared.schemas import StepResult
from flowbus_shared.store import SqlEventStore


def _result(key: str, output: str) -> StepResult:
    execution_id, step_id, _attempt = key.split(":")
    return StepResult(
        message_id=f"result:{key}:{output}",
        execution_id=execution_id,
        step_id=step_id,
        status="succeeded",
        output={"by": output},
    )


def _key() -> str:
    return f"exec-{uuid.uuid4().hex}:step:1"


async def test_nothing_is_recorded_until_recorded(store: SqlEventStore) -> None:
    attempts = AttemptLog(store.engine)
    key = _key()
    assert await attempts.recorded(key) is None
    first = _result(key, "first")
    assert await attempts.record(key, "worker-a", first) == first
    assert await attempts.recorded(key) == first


async def test_the_first_record_wins_and_later_ones_get_it(store: SqlEventStore) -> None:
    attempts = AttemptLog(store.engine)
    key = _key()
    first = _result(key, "first")
    await attempts.record(key, "worker-a", first)
    assert await attempts.record(key, "worker-b", _result(key, "second")) == first
    assert await attempts.recorded(key) == first


async def test_concurrent_records_agree_on_one_result(store: SqlEventStore) -> None:
    attempts = AttemptLog(store.engine)
    key = _key()
    outcomes = await asyncio.gather(
        *(attempts.record(key, f"worker-{n}", _result(key, str(n))) for n in range(6))
    )
    assert len({outcome.output["by"] for outcome in outcomes}) == 1
    assert await attempts.recorded(key) == outcomes[0]
