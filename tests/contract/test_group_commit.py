"""Group commit on every backend: concurrent appends share transactions, and each caller still
gets its own outcome (a conflict or a duplicate message fails only the append at fault)."""

from __future__ import annotations

import asyncio

import pytest

from flowbus_shared.schemas import new_id
from flowbus_shared.store import (
    AlreadyProcessed,
    Append,
    Causation,
    ConcurrencyConflict,
    NewEvent,
    SqlEventStore,
)
from flowbus_shared.store.group_commit import GroupCommit


async def test_concurrent_appends_all_land_with_their_own_versions(store: SqlEventStore) -> None:
    commits = GroupCommit(store)
    streams = [new_id() for _ in range(30)]
    versions = await asyncio.gather(
        *(commits.append(Append(s, 0, [NewEvent("a", {}), NewEvent("b", {})])) for s in streams)
    )
    assert versions == [2] * 30
    for stream in streams:
        assert [e.event_type for e in await store.read(stream)] == ["a", "b"]


async def test_a_conflict_in_a_group_fails_only_its_own_append(store: SqlEventStore) -> None:
    commits = GroupCommit(store)
    taken, free = new_id(), [new_id() for _ in range(5)]
    await store.append(taken, 0, [NewEvent("first", {})])
    outcomes = await asyncio.gather(
        commits.append(Append(taken, 0, [NewEvent("stale", {})])),
        *(commits.append(Append(s, 0, [NewEvent("x", {})])) for s in free),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], ConcurrencyConflict)
    assert outcomes[1:] == [1] * 5
    assert [e.event_type for e in await store.read(taken)] == ["first"]


async def test_a_message_already_processed_is_refused_alone(store: SqlEventStore) -> None:
    commits = GroupCommit(store)
    done = Causation("tests", "message-1")
    await store.append(new_id(), 0, [NewEvent("a", {})], causation=done)
    again, other = new_id(), new_id()
    outcomes = await asyncio.gather(
        commits.append(Append(again, 0, [NewEvent("a", {})], causation=done)),
        commits.append(Append(other, 0, [NewEvent("b", {})], causation=Causation("tests", "message-2"))),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], AlreadyProcessed)
    assert outcomes[1] == 1
    assert await store.read(again) == []


@pytest.mark.parametrize("size", [1, 7])
async def test_groups_are_bounded(store: SqlEventStore, size: int) -> None:
    commits = GroupCommit(store, max_group=size)
    streams = [new_id() for _ in range(20)]
    assert (
        await asyncio.gather(*(commits.append(Append(s, 0, [NewEvent("a", {})])) for s in streams))
        == [1] * 20
    )
