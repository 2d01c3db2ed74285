"""The event store on SQLAlchemy: one adapter for PostgreSQL and SQLite.

PostgreSQL gets `FOR UPDATE SKIP LOCKED` for timers and the outbox, so several
pollers share the work; SQLite (one process) serialises writers with BEGIN
IMMEDIATE, and its dialect drops the locking clause.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flowbus_shared.store import tables
from flowbus_shared.store.errors import AlreadyProcessed, ConcurrencyConflict
from flowbus_shared.store.port import (
    Append,
    Causation,
    NewEvent,
    OutboxMessage,
    PendingMessage,
    Publish,
    Snapshot,
    StoredEvent,
    TimerSpec,
)


def _utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


class SqlEventStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def close(self) -> None:
        await self._engine.dispose()

    # -- appends ---------------------------------------------------------------

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        causation: Causation | None = None,
        outbox: Sequence[OutboxMessage] = (),
        timers: Sequence[TimerSpec] = (),
        cancel_timers: Sequence[str] = (),
    ) -> int:
        versions = await self.append_many(
            [Append(stream_id, expected_version, events, causation, outbox, timers, cancel_timers)]
        )
        return versions[0]

    async def append_many(self, appends: Sequence[Append]) -> list[int]:
        now = _now()
        versions: list[int] = []
        async with self._engine.begin() as conn:
            for item in appends:
                if item.causation is not None:
                    await self._record_causation(conn, item.causation, item.stream_id, now)
                versions.append(await self._append_events(conn, item, now))
                await self._write_side_effects(conn, item, now)
        return versions

    async def _record_causation(
        self, conn: AsyncConnection, causation: Causation, stream_id: str, now: datetime
    ) -> None:
        try:
            async with conn.begin_nested():
                await conn.execute(
                    tables.processed_messages.insert().values(
                        consumer=causation.consumer,
                        message_id=causation.message_id,
                        stream_id=stream_id,
                        processed_at=now,
                    )
                )
        except IntegrityError:
            raise AlreadyProcessed(causation.consumer, causation.message_id) from None

    async def _append_events(self, conn: AsyncConnection, item: Append, now: datetime) -> int:
        actual = await self._version(conn, item.stream_id)
        if actual != item.expected_version:
            raise ConcurrencyConflict(item.stream_id, item.expected_version, actual)
        if not item.events:
            return actual
        rows = [
            {
                "stream_id": item.stream_id,
                "version": item.expected_version + index,
                "event_type": event.event_type,
                "data": event.data,
                "causation_id": item.causation.message_id if item.causation else None,
                "recorded_at": now,
            }
            for index, event in enumerate(item.events, start=1)
        ]
        try:
            async with conn.begin_nested():
                await conn.execute(tables.events.insert(), rows)
        except IntegrityError:
            # A concurrent writer committed the same version between our check and insert.
            raise ConcurrencyConflict(item.stream_id, item.expected_version, None) from None
        return item.expected_version + len(rows)

    async def _write_side_effects(self, conn: AsyncConnection, item: Append, now: datetime) -> None:
        if item.outbox:
            await conn.execute(
                tables.outbox.insert(),
                [
                    {
                        "topic": message.topic,
                        "message_key": message.key,
                        "payload": message.payload,
                        "headers": message.headers,
                        "stream_id": item.stream_id,
                        "created_at": now,
                    }
                    for message in item.outbox
                ],
            )
        if item.cancel_timers:
            await conn.execute(
                tables.timers.delete().where(tables.timers.c.timer_id.in_(list(item.cancel_timers)))
            )
        for timer in item.timers:
            # Setting a timer again (same id) moves it: a redelivered decision stays idempotent.
            await conn.execute(tables.timers.delete().where(tables.timers.c.timer_id == timer.timer_id))
            await conn.execute(
                tables.timers.insert().values(
                    timer_id=timer.timer_id,
                    stream_id=timer.stream_id,
                    fire_at=_utc(timer.fire_at),
                    payload=timer.payload,
                    created_at=now,
                )
            )

    @staticmethod
    async def _version(conn: AsyncConnection, stream_id: str) -> int:
        result = await conn.execute(
            sa.select(sa.func.max(tables.events.c.version)).where(tables.events.c.stream_id == stream_id)
        )
        return int(result.scalar() or 0)

    # -- reads -----------------------------------------------------------------

    async def read(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        events = tables.events
        async with self._engine.connect() as conn:
            result = await conn.execute(
                sa.select(events)
                .where(events.c.stream_id == stream_id, events.c.version > after_version)
                .order_by(events.c.version)
            )
            return [
                StoredEvent(
                    stream_id=row.stream_id,
                    version=row.version,
                    event_type=row.event_type,
                    data=row.data,
                    causation_id=row.causation_id,
                    recorded_at=_utc(row.recorded_at),
                    position=row.position,
                )
                for row in result
            ]

    async def current_version(self, stream_id: str) -> int:
        async with self._engine.connect() as conn:
            return await self._version(conn, stream_id)

    async def is_processed(self, consumer: str, message_id: str) -> bool:
        table = tables.processed_messages
        async with self._engine.connect() as conn:
            result = await conn.execute(
                sa.select(sa.literal(1)).where(table.c.consumer == consumer, table.c.message_id == message_id)
            )
            return result.first() is not None

    # -- snapshots -------------------------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        table = tables.snapshots
        async with self._engine.begin() as conn:
            current = await conn.execute(
                sa.select(table.c.version).where(table.c.stream_id == snapshot.stream_id)
            )
            found = current.scalar()
            values: dict[str, Any] = {
                "version": snapshot.version,
                "state": snapshot.state,
                "taken_at": _utc(snapshot.taken_at),
            }
            if found is None:
                await conn.execute(table.insert().values(stream_id=snapshot.stream_id, **values))
            elif found < snapshot.version:  # never move a snapshot backwards
                await conn.execute(
                    table.update().where(table.c.stream_id == snapshot.stream_id).values(**values)
                )

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        table = tables.snapshots
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(table).where(table.c.stream_id == stream_id))).first()
        if row is None:
            return None
        return Snapshot(row.stream_id, row.version, row.state, _utc(row.taken_at))

    # -- timers ----------------------------------------------------------------

    async def claim_due_timers(
        self, now: datetime, *, limit: int = 100, lease_seconds: float = 30.0
    ) -> list[TimerSpec]:
        """Lease due timers; the caller deletes each once its command is published."""
        table = tables.timers
        now = _utc(now)
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(table)
                    .where(
                        table.c.fire_at <= now,
                        sa.or_(table.c.claimed_until.is_(None), table.c.claimed_until < now),
                    )
                    .order_by(table.c.fire_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if rows:
                await conn.execute(
                    table.update()
                    .where(table.c.timer_id.in_([row.timer_id for row in rows]))
                    .values(claimed_until=now + timedelta(seconds=lease_seconds))
                )
        return [TimerSpec(row.timer_id, row.stream_id, _utc(row.fire_at), row.payload) for row in rows]

    async def delete_timers(self, timer_ids: Sequence[str]) -> None:
        if not timer_ids:
            return
        async with self._engine.begin() as conn:
            await conn.execute(tables.timers.delete().where(tables.timers.c.timer_id.in_(list(timer_ids))))

    # -- outbox ----------------------------------------------------------------

    async def relay_outbox(self, publish: Publish, *, limit: int = 100) -> int:
        """Publish owed rows in id order and delete them, under a row lock.

        Rows are picked with SKIP LOCKED rather than "after the last id seen":
        ids commit out of order, and a high-water mark would skip the late ones.
        """
        table = tables.outbox
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(table).order_by(table.c.id).limit(limit).with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            await publish(
                [
                    PendingMessage(
                        topic=row.topic,
                        key=row.message_key,
                        payload=bytes(row.payload),
                        headers=dict(row.headers or {}),
                        id=row.id,
                    )
                    for row in rows
                ]
            )
            await conn.execute(table.delete().where(table.c.id.in_([row.id for row in rows])))
        return len(rows)
