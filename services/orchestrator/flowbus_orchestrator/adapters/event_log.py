"""Reading an execution's event log a page at a time, and whose execution it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_orchestrator.adapters.execution_queries import as_utc
from flowbus_shared.store.tables import events

_events = events.c


@dataclass(frozen=True)
class LoggedEvent:
    version: int
    event_type: str
    data: dict[str, Any]
    recorded_at: datetime


async def events_page(
    engine: AsyncEngine, execution_id: str, *, after: int = 0, limit: int = 50
) -> tuple[list[LoggedEvent], int | None]:
    """Events after version `after`, oldest first; the `after` of the next page, or None."""
    query = (
        sa.select(_events.version, _events.event_type, _events.data, _events.recorded_at)
        .where(_events.stream_id == execution_id, _events.version > after)
        .order_by(_events.version)
        .limit(limit + 1)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    page = [
        LoggedEvent(row.version, row.event_type, row.data, as_utc(row.recorded_at) or row.recorded_at)
        for row in rows[:limit]
    ]
    return page, (page[-1].version if len(rows) > limit else None)


async def execution_tenant(engine: AsyncEngine, execution_id: str) -> str | None:
    """The tenant that started the execution (from its execution.started event), or None
    when no execution has this id."""
    query = (
        sa.select(_events.data)
        .where(_events.stream_id == execution_id, _events.event_type == "execution.started")
        .order_by(_events.version)
        .limit(1)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    tenant = row.data.get("tenant_id")
    return tenant if isinstance(tenant, str) else None
