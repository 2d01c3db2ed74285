"""The event store contract, run against every backend (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from flowbus_shared.store import (
    AlreadyProcessed,
    Append,
    Causation,
    ConcurrencyConflict,
    NewEvent,
    OutboxMessage,
    PendingMessage,
    Snapshot,
    SqlEventStore,
    TimerSpec,
)


def stream() -> str:
    return f"execution-{uuid.uuid4().hex}"


class TestAppendAndRead:
    async def test_appends_in_order_and_reads_back(self, store: SqlEventStore) -> None:
        stream_id = stream()
        assert await store.append(stream_id, 0, [NewEvent("a", {"n": 1}), NewEvent("b", {"n": 2})]) == 2
        assert await store.append(stream_id, 2, [NewEvent("c", {"nested": {"x": [1, 2]}})]) == 3
        events = await store.read(stream_id)
        assert [(e.version, e.event_type, e.data) for e in events] == [
            (1, "a", {"n": 1}),
            (2, "b", {"n": 2}),
            (3, "c", {"nested": {"x": [1, 2]}}),
        ]
        assert [e.version for e in await store.read(stream_id, after_version=2)] == [3]
        assert await store.current_version(stream_id) == 3
        assert events[0].recorded_at.tzinfo is not None

    async def test_event_data_reads_back_exactly(self, store: SqlEventStore) -> None:
        # Past 64 bits, unicode, floats, nulls: what goes in comes out, on every backend.
        data = {
            "big": 2**70 + 1,
            "negative": -(2**64) - 3,
            "digits_in_text": "12345678901234567890123",
            "amount": 0.1,
            "name": "Zoë 🧾",
            "none": None,
            "list": [True, False, 2**63 - 1],
        }
        stream_id = stream()
        await store.append(stream_id, 0, [NewEvent("a", data)])
        assert (await store.read(stream_id))[0].data == data

    async def test_stale_expected_version_is_a_conflict(self, store: SqlEventStore) -> None:
        stream_id = stream()
        await store.append(stream_id, 0, [NewEvent("a", {})])
        with pytest.raises(ConcurrencyConflict) as raised:
            await store.append(stream_id, 0, [NewEvent("b", {})])
        assert raised.value.actual_version == 1
        assert [e.event_type for e in await store.read(stream_id)] == ["a"]

    async def test_concurrent_appends_at_one_version_exactly_one_wins(self, store: SqlEventStore) -> None:
        stream_id = stream()
        await store.append(stream_id, 0, [NewEvent("start", {})])
        outcomes = await asyncio.gather(
            *(store.append(stream_id, 1, [NewEvent(f"writer-{n}", {})]) for n in range(8)),
            return_exceptions=True,
        )
        winners = [o for o in outcomes if o == 2]
        losers = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
        assert len(winners) == 1
        assert len(losers) == 7
        assert len(await store.read(stream_id)) == 2

    async def test_a_failed_append_writes_nothing(self, store: SqlEventStore) -> None:
        first, second = stream(), stream()
        await store.append(second, 0, [NewEvent("x", {})])
        with pytest.raises(ConcurrencyConflict):
            await store.append_many(
                [
                    Append(first, 0, [NewEvent("a", {})], outbox=[OutboxMessage("t", "k", b"p")]),
                    Append(second, 0, [NewEvent("b", {})]),
                ]
            )
        assert await store.read(first) == []
        sent: list[PendingMessage] = []

        async def publish(messages: list[PendingMessage]) -> None:
            sent.extend(messages)

        await store.relay_outbox(publish)  # type: ignore[arg-type]
        assert [m for m in sent if m.key == "k" and m.topic == "t"] == []


class TestIdempotency:
    async def test_a_causation_is_recorded_once(self, store: SqlEventStore) -> None:
        stream_id, message_id = stream(), uuid.uuid4().hex
        await store.append(stream_id, 0, [NewEvent("a", {})], causation=Causation("orchestrator", message_id))
        assert await store.is_processed("orchestrator", message_id)
        assert not await store.is_processed("someone-else", message_id)
        with pytest.raises(AlreadyProcessed):
            await store.append(
                stream_id, 1, [NewEvent("a", {})], causation=Causation("orchestrator", message_id)
            )
        assert len(await store.read(stream_id)) == 1
        assert (await store.read(stream_id))[0].causation_id == message_id


class TestSnapshots:
    async def test_latest_snapshot_wins_and_never_moves_back(self, store: SqlEventStore) -> None:
        stream_id, now = stream(), datetime.now(UTC)
        assert await store.load_snapshot(stream_id) is None
        await store.save_snapshot(Snapshot(stream_id, 5, {"status": "running"}, now))
        await store.save_snapshot(Snapshot(stream_id, 9, {"status": "completed"}, now))
        await store.save_snapshot(Snapshot(stream_id, 7, {"status": "stale"}, now))
        loaded = await store.load_snapshot(stream_id)
        assert loaded is not None
        assert (loaded.version, loaded.state) == (9, {"status": "completed"})


class TestTimers:
    async def test_due_timers_are_leased_once_and_survive_until_deleted(self, store: SqlEventStore) -> None:
        stream_id, now = stream(), datetime.now(UTC)
        due = TimerSpec(f"{stream_id}:due", stream_id, now - timedelta(seconds=1), {"purpose": "delay"})
        later = TimerSpec(f"{stream_id}:later", stream_id, now + timedelta(hours=1), {})
        await store.append(stream_id, 0, [NewEvent("a", {})], timers=[due, later])
        claimed = [t for t in await store.claim_due_timers(now) if t.stream_id == stream_id]
        assert [t.timer_id for t in claimed] == [due.timer_id]
        assert claimed[0].payload == {"purpose": "delay"}
        # leased: a second poller does not get it ...
        assert [t for t in await store.claim_due_timers(now) if t.stream_id == stream_id] == []
        # ... until the lease runs out (the first poller died before deleting it)
        after_lease = now + timedelta(seconds=31)
        assert [
            t.timer_id for t in await store.claim_due_timers(after_lease) if t.stream_id == stream_id
        ] == [due.timer_id]
        await store.delete_timers([due.timer_id])
        in_two_hours = now + timedelta(hours=2)
        assert [
            t.timer_id for t in await store.claim_due_timers(in_two_hours) if t.stream_id == stream_id
        ] == [later.timer_id]

    async def test_cancelled_timers_never_fire(self, store: SqlEventStore) -> None:
        stream_id, now = stream(), datetime.now(UTC)
        timer = TimerSpec(f"{stream_id}:t", stream_id, now, {})
        await store.append(stream_id, 0, [NewEvent("a", {})], timers=[timer])
        await store.append(stream_id, 1, [NewEvent("b", {})], cancel_timers=[timer.timer_id])
        later = now + timedelta(minutes=1)
        assert [t for t in await store.claim_due_timers(later) if t.stream_id == stream_id] == []


class TestOutbox:
    async def test_relays_in_order_then_forgets(self, store: SqlEventStore) -> None:
        stream_id = stream()
        messages = [OutboxMessage("topic-a", stream_id, f"m{n}".encode(), {"n": str(n)}) for n in range(5)]
        await store.append(stream_id, 0, [NewEvent("a", {})], outbox=messages)
        sent: list[PendingMessage] = []

        async def publish(batch: list[PendingMessage]) -> None:
            sent.extend(batch)

        while await store.relay_outbox(publish, limit=2):  # type: ignore[arg-type]
            pass
        mine = [m for m in sent if m.key == stream_id]
        assert [m.payload for m in mine] == [b"m0", b"m1", b"m2", b"m3", b"m4"]
        assert mine[3].headers == {"n": "3"}
        sent.clear()
        await store.relay_outbox(publish)  # type: ignore[arg-type]
        assert [m for m in sent if m.key == stream_id] == []

    async def test_a_failed_publish_keeps_the_rows(self, store: SqlEventStore) -> None:
        stream_id = stream()
        await store.append(stream_id, 0, [NewEvent("a", {})], outbox=[OutboxMessage("t", stream_id, b"x")])

        async def broken(_batch: list[PendingMessage]) -> None:
            raise ConnectionError("broker down")

        with pytest.raises(ConnectionError):
            await store.relay_outbox(broken)  # type: ignore[arg-type]
        sent: list[PendingMessage] = []

        async def publish(batch: list[PendingMessage]) -> None:
            sent.extend(batch)

        while await store.relay_outbox(publish):  # type: ignore[arg-type]
            pass
        assert [m.payload for m in sent if m.key == stream_id] == [b"x"]
