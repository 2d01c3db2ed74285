"""Reading the executions projection for one tenant: pages (keyset on started_at, id), stats
and fork lineage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_orchestrator.adapters.projection import ExecutionProjection
from flowbus_orchestrator.adapters.tables import executions

_rows = executions.c
MAX_LINEAGE_DEPTH = 1000


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; every stored time is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class ExecutionFilter:
    workflow_id: str | None = None
    status: str | None = None
    since: datetime | None = None  # started at or after
    until: datetime | None = None  # started before
    parent: str | None = None


@dataclass(frozen=True)
class PageKey:
    """Where a page ends: the last row's (started_at, execution_id), newest first."""

    started_at: datetime
    execution_id: str


def _where(tenant_id: str, filters: ExecutionFilter) -> list[sa.ColumnElement[bool]]:
    clauses = [_rows.tenant_id == tenant_id]
    if filters.workflow_id:
        clauses.append(_rows.workflow_id == filters.workflow_id)
    if filters.status:
        clauses.append(_rows.status == filters.status)
    if filters.since is not None:
        clauses.append(_rows.started_at >= as_utc(filters.since))
    if filters.until is not None:
        clauses.append(_rows.started_at < as_utc(filters.until))
    if filters.parent:
        clauses.append(_rows.parent_execution_id == filters.parent)
    return clauses


async def execution_page(
    engine: AsyncEngine,
    tenant_id: str,
    filters: ExecutionFilter,
    *,
    after: PageKey | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], PageKey | None]:
    """Newest first; the key of the next page, or None at the end."""
    clauses = _where(tenant_id, filters)
    if after is not None:
        started = as_utc(after.started_at)
        clauses.append(
            sa.or_(
                _rows.started_at < started,
                sa.and_(_rows.started_at == started, _rows.execution_id < after.execution_id),
            )
        )
    query = (
        sa.select(executions)
        .where(*clauses, _rows.started_at.is_not(None))
        .order_by(_rows.started_at.desc(), _rows.execution_id.desc())
        .limit(limit + 1)
    )
    async with engine.connect() as conn:
        rows = [dict(row._mapping) for row in await conn.execute(query)]
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    started_at = as_utc(last["started_at"])
    assert started_at is not None
    return rows, PageKey(started_at, last["execution_id"])


def _percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest rank."""
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


async def execution_stats(
    engine: AsyncEngine, tenant_id: str, *, workflow_id: str | None = None, since: datetime | None = None
) -> dict[str, Any]:
    """Counts by status, and per workflow the totals and p50/p95 durations of completed runs."""
    clauses = _where(tenant_id, ExecutionFilter(workflow_id=workflow_id, since=since))
    counts_query = (
        sa.select(_rows.workflow_id, _rows.status, sa.func.count().label("n"))
        .where(*clauses)
        .group_by(_rows.workflow_id, _rows.status)
    )
    durations_query = sa.select(_rows.workflow_id, _rows.started_at, _rows.finished_at).where(
        *clauses, _rows.status == "completed", _rows.finished_at.is_not(None)
    )
    async with engine.connect() as conn:
        counts = (await conn.execute(counts_query)).all()
        finished = (await conn.execute(durations_query)).all()
    by_status: dict[str, int] = {}
    per_workflow: dict[str, dict[str, int]] = {}
    for row in counts:
        by_status[row.status] = by_status.get(row.status, 0) + row.n
        per_workflow.setdefault(row.workflow_id, {})[row.status] = row.n
    durations: dict[str, list[float]] = {}
    for row in finished:
        if row.started_at is not None:
            durations.setdefault(row.workflow_id, []).append(
                (row.finished_at - row.started_at).total_seconds()
            )
    by_workflow = []
    for workflow, statuses in sorted(per_workflow.items()):
        spans = sorted(durations.get(workflow, []))
        by_workflow.append(
            {
                "workflow_id": workflow,
                "total": sum(statuses.values()),
                "completed": statuses.get("completed", 0),
                "failed": statuses.get("failed", 0),
                "p50_seconds": _percentile(spans, 0.5) if spans else None,
                "p95_seconds": _percentile(spans, 0.95) if spans else None,
            }
        )
    return {
        "executions": {"total": sum(by_status.values()), "by_status": dict(sorted(by_status.items()))},
        "by_workflow": by_workflow,
    }


async def lineage(
    projection: ExecutionProjection, tenant_id: str, execution_id: str
) -> dict[str, Any] | None:
    """The execution's ancestors (its parent first) and its direct forks; None if unknown."""
    row = await projection.get(execution_id, tenant_id=tenant_id)
    if row is None:
        return None
    ancestors: list[dict[str, Any]] = []
    seen = {execution_id}
    parent_id = row["parent_execution_id"]
    while parent_id and parent_id not in seen and len(ancestors) < MAX_LINEAGE_DEPTH:
        parent = await projection.get(parent_id, tenant_id=tenant_id)
        if parent is None:
            break
        ancestors.append(parent)
        seen.add(parent_id)
        parent_id = parent["parent_execution_id"]
    children = await projection.children(execution_id, tenant_id=tenant_id)
    return {"execution": row, "ancestors": ancestors, "children": children}
