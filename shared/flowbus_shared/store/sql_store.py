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
from sqlalchemy.sql import Executable

from flowbus_shared.store import tables
from flowbus_shared.store.engine import standalone_statements
from flowbus_shared.store.errors import AlreadyProcessed, ConcurrencyConflict
from flowbus_shared.store.port import (
    Append,
    Causation,
    NewEvent,
    OutboxMessage,
    PendingMessage,
    Publish,
    RowWrite,
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
        self._reads = standalone_statements(engine)  # one-statement reads: no BEGIN/ROLLBACK around them

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
        also: Sequence[RowWrite] = (),
    ) -> int:
        versions = await self.append_many(
            [Append(stream_id, expected_version, events, causation, outbox, timers, cancel_timers, also)]
        )
        return versions[0]

    async def append_many(self, appends: Sequence[Append]) -> list[int]:
        """One transaction, a fixed number of round trips however many streams it covers."""
        now = _now()
        async with self._engine.begin() as conn:
            await self._record_causations(conn, [a for a in appends if a.causation], now)
            current = await self._versions(conn, {a.stream_id for a in appends})
            versions: list[int] = []
            rows: list[dict[str, Any]] = []
            for item in appends:
                actual = current.get(item.stream_id, 0)
                if actual != item.expected_version:
                    raise ConcurrencyConflict(item.stream_id, item.expected_version, actual)
                rows += [
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
                current[item.stream_id] = item.expected_version + len(item.events)
                versions.append(current[item.stream_id])
            if rows:
                try:
                    await conn.execute(tables.events.insert(), rows)
                except IntegrityError:
                    # A concurrent writer committed one of these versions after our check.
                    raise ConcurrencyConflict(
                        appends[0].stream_id, appends[0].expected_version, None
                    ) from None
            await self._write_side_effects(conn, appends, now)
            await self._write_rows(conn, [write for item in appends for write in item.also])
        return versions

    @staticmethod
    async def _write_rows(conn: AsyncConnection, writes: Sequence[RowWrite]) -> None:
        """One executemany per statement, in the order each statement first appears (a statement's
        rows keep their order, so a later write of the same row lands last)."""
        by_statement: dict[int, tuple[Executable, list[dict[str, Any]]]] = {}
        for write in writes:
            by_statement.setdefault(id(write.statement), (write.statement, []))[1].append(write.params)
        for statement, rows in by_statement.values():
            await conn.execute(statement, rows)

    async def _record_causations(self, conn: AsyncConnection, items: Sequence[Append], now: datetime) -> None:
        if not items:
            return
        table = tables.processed_messages
        first = items[0].causation
        assert first is not None
        try:
            await conn.execute(
                table.insert(),
                [
                    {
                        "consumer": item.causation.consumer,
                        "message_id": item.causation.message_id,
                        "stream_id": item.stream_id,
                        "processed_at": now,
                    }
                    for item in items
                    if item.causation is not None
                ],
            )
        except IntegrityError:
            raise AlreadyProcessed(first.consumer, first.message_id) from None

    @staticmethod
    async def _versions(conn: AsyncConnection, stream_ids: set[str]) -> dict[str, int]:
        events = tables.events
        result = await conn.execute(
            sa.select(events.c.stream_id, sa.func.max(events.c.version))
            .where(events.c.stream_id.in_(sorted(stream_ids)))
            .group_by(events.c.stream_id)
        )
        return {stream_id: int(version) for stream_id, version in result}

    async def _write_side_effects(
        self, conn: AsyncConnection, appends: Sequence[Append], now: datetime
    ) -> None:
        outbox = [
            {
                "topic": message.topic,
                "message_key": message.key,
                "payload": message.payload,
                "headers": message.headers,
                "stream_id": item.stream_id,
                "created_at": now,
            }
            for item in appends
            for message in item.outbox
        ]
        if outbox:
            await conn.execute(tables.outbox.insert(), outbox)
        timers = [timer for item in appends for timer in item.timers]
        # Setting a timer again (same id) moves it: a redelivered decision stays idempotent.
        removed = [timer_id for item in appends for timer_id in item.cancel_timers] + [
            t.timer_id for t in timers
        ]
        if removed:
            await conn.execute(tables.timers.delete().where(tables.timers.c.timer_id.in_(removed)))
        if timers:
            await conn.execute(
                tables.timers.insert(),
                [
                    {
                        "timer_id": timer.timer_id,
                        "stream_id": timer.stream_id,
                        "fire_at": _utc(timer.fire_at),
                        "payload": timer.payload,
                        "created_at": now,
                    }
                    for timer in timers
                ],
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
        async with self._reads.connect() as conn:
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
        async with self._reads.connect() as conn:
            return await self._version(conn, stream_id)

    async def is_processed(self, consumer: str, message_id: str) -> bool:
        table = tables.processed_messages
        async with self._reads.connect() as conn:
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
        async with self._reads.connect() as conn:
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
