"""The executions table: a projection of each execution's state for listing, stats and lineage.

It is rebuilt from the event log (the source of truth), so it may lag by one
event after a crash; the next event of that execution brings it up to date.
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


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class ExecutionProjection:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, state: ExecutionState) -> None:
        if not state.execution_id:
            return
        row: dict[str, Any] = {
            "workflow_id": state.workflow_id,
            "workflow_version": state.workflow_version,
            "tenant_id": state.tenant_id,
            "status": state.status,
            "parent_execution_id": (state.parent or {}).get("execution_id"),
            "fork_step_id": (state.parent or {}).get("step_id"),
            "started_at": _moment(state.started_at),
            "finished_at": _moment(state.finished_at),
            "version": state.version,
        }
        insert = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(executions).values(execution_id=state.execution_id, **row)
        # Upsert, never moving back: a late writer with an older state changes nothing.
        statement = statement.on_conflict_do_update(
            index_elements=[executions.c.execution_id],
            set_=row,
            where=executions.c.version < statement.excluded.version,
        )
        async with self._engine.begin() as conn:
            await conn.execute(statement)

    async def get(self, execution_id: str) -> dict[str, Any] | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(sa.select(executions).where(executions.c.execution_id == execution_id))
            ).first()
        return dict(row._mapping) if row else None

    async def children(self, execution_id: str) -> list[dict[str, Any]]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(executions)
                .where(executions.c.parent_execution_id == execution_id)
                .order_by(executions.c.started_at)
            )
            return [dict(row._mapping) for row in rows]

    async def list(
        self, *, workflow_id: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        query = sa.select(executions).order_by(executions.c.started_at.desc()).limit(limit)
        if workflow_id:
            query = query.where(executions.c.workflow_id == workflow_id)
        if status:
            query = query.where(executions.c.status == status)
        async with self._engine.connect() as conn:
            return [dict(row._mapping) for row in await conn.execute(query)]


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


async def execution_stats(engine: AsyncEngine, workflow_id: str | None = None) -> dict[str, Any]:
    """Counts by status, success rate, mean and p95 duration of completed runs, per workflow."""
    query = sa.select(
        executions.c.workflow_id, executions.c.status, executions.c.started_at, executions.c.finished_at
    )
    if workflow_id:
        query = query.where(executions.c.workflow_id == workflow_id)
    per_workflow: dict[str, dict[str, Any]] = {}
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    for row in rows:
        entry = per_workflow.setdefault(row.workflow_id, {"counts": {}, "durations": []})
        entry["counts"][row.status] = entry["counts"].get(row.status, 0) + 1
        if row.status == "completed" and row.started_at and row.finished_at:
            entry["durations"].append((row.finished_at - row.started_at).total_seconds())
    result: dict[str, Any] = {}
    for workflow, entry in sorted(per_workflow.items()):
        counts, durations = entry["counts"], sorted(entry["durations"])
        finished = counts.get("completed", 0) + counts.get("failed", 0)
        result[workflow] = {
            "total": sum(counts.values()),
            "by_status": counts,
            "success_rate": counts.get("completed", 0) / finished if finished else None,
            "mean_duration_seconds": sum(durations) / len(durations) if durations else None,
            "p95_duration_seconds": _percentile(durations, 0.95) if durations else None,
        }
    return result


async def lineage(projection: ExecutionProjection, execution_id: str) -> dict[str, Any] | None:
    """The fork tree an execution belongs to: from its root, each node with its children."""
    row = await projection.get(execution_id)
    if row is None:
        return None
    seen = {row["execution_id"]}
    while row["parent_execution_id"] and row["parent_execution_id"] not in seen:
        parent = await projection.get(row["parent_execution_id"])
        if parent is None:
            break
        seen.add(parent["execution_id"])
        row = parent

    async def node(current: dict[str, Any]) -> dict[str, Any]:
        children = [await node(child) for child in await projection.children(current["execution_id"])]
        return {
            "execution_id": current["execution_id"],
            "status": current["status"],
            "fork_step_id": current["fork_step_id"],
            "children": children,
        }

    return await node(row)
