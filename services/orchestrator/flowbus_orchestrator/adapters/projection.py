"""The executions table: a projection of each execution's state for listing, stats and lineage.

The engine writes each execution's row in the transaction that appends its events, so the
row and the log never disagree; the row can always be rebuilt from the log (the source of truth).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_orchestrator.adapters.tables import executions
from flowbus_orchestrator.domain.state import ExecutionState
from flowbus_shared.store import RowWrite


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


_ROW_COLUMNS = (
    "workflow_id",
    "workflow_version",
    "tenant_id",
    "status",
    "parent_execution_id",
    "fork_step_id",
    "started_at",
    "finished_at",
    "version",
)


class ExecutionProjection:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(executions)
        # Built once (building it is costly, and one statement lets a group commit send all its rows
        # in one executemany). Upsert, never moving back: a late writer with an older state changes nothing.
        self._upsert = statement.on_conflict_do_update(
            index_elements=[executions.c.execution_id],
            set_={name: statement.excluded[name] for name in _ROW_COLUMNS},
            where=executions.c.version < statement.excluded.version,
        )

    def upsert(self, state: ExecutionState) -> RowWrite | None:
        """The write that brings the execution's row up to `state` (None: nothing started),
        for the engine to commit with the events it derives from."""
        if not state.execution_id:
            return None
        parent = state.parent or {}
        return RowWrite(
            self._upsert,
            {
                "execution_id": state.execution_id,
                "workflow_id": state.workflow_id,
                "workflow_version": state.workflow_version,
                "tenant_id": state.tenant_id,
                "status": state.status,
                "parent_execution_id": parent.get("execution_id"),
                "fork_step_id": parent.get("step_id"),
                "started_at": _moment(state.started_at),
                "finished_at": _moment(state.finished_at),
                "version": state.version,
            },
        )

    async def get(self, execution_id: str, *, tenant_id: str | None = None) -> dict[str, Any] | None:
        """The execution's row; None if there is none (or it is another tenant's)."""
        query = sa.select(executions).where(executions.c.execution_id == execution_id)
        if tenant_id is not None:
            query = query.where(executions.c.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return dict(row._mapping) if row else None

    async def children(self, execution_id: str, *, tenant_id: str | None = None) -> list[dict[str, Any]]:
        query = (
            sa.select(executions)
            .where(executions.c.parent_execution_id == execution_id)
            .order_by(executions.c.started_at, executions.c.execution_id)
        )
        if tenant_id is not None:
            query = query.where(executions.c.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            return [dict(row._mapping) for row in await conn.execute(query)]

    async def list(
        self,
        *,
        workflow_id: str | None = None,
        status: str | None = None,
        tenant_id: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        query = sa.select(executions).order_by(executions.c.started_at.desc()).limit(limit)
        if workflow_id:
            query = query.where(executions.c.workflow_id == workflow_id)
        if status:
            query = query.where(executions.c.status == status)
        if tenant_id is not None:
            query = query.where(executions.c.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            return [dict(row._mapping) for row in await conn.execute(query)]
