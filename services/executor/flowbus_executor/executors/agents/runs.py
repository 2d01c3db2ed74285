"""The executor's agent tables (mirrors of migration 0011, which owns the schema): a run's
conversation, saved after every round so a crash or an approval wait resumes where it stopped,
and the schedules of background agents, kept in the database so they survive restarts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

Moment = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(JSONB(), "postgresql")

metadata = sa.MetaData()

agent_runs = sa.Table(
    "agent_runs",
    metadata,
    sa.Column("tenant_id", sa.String(200), primary_key=True),
    sa.Column("execution_id", sa.String(200), primary_key=True),
    sa.Column("step_id", sa.String(200), primary_key=True),
    sa.Column("agent_id", sa.String(200), nullable=False),
    sa.Column("messages", Json, nullable=False),
    sa.Column("pending", Json),
    sa.Column("steps_used", sa.Integer, nullable=False),
    sa.Column("cost_usd", sa.Numeric(18, 8), nullable=False),
    sa.Column("status", sa.String(40), nullable=False),
    sa.Column("updated_at", Moment, nullable=False),
)

agent_schedules = sa.Table(
    "agent_schedules",
    metadata,
    sa.Column("schedule_id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    sa.Column("agent_id", sa.String(200), nullable=False),
    sa.Column("config", Json, nullable=False),
    sa.Column("interval_seconds", sa.Float, nullable=False),
    sa.Column("next_run_at", Moment, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("runs", sa.Integer, nullable=False),
    sa.Column("last_run_at", Moment),
    sa.Column("last_status", sa.String(200)),
    sa.Column("pending_execution_id", sa.String(200)),
    sa.Column("created_at", Moment, nullable=False),
    sa.Column("updated_at", Moment, nullable=False),
    sa.UniqueConstraint("tenant_id", "agent_id", name="uq_agent_schedules_agent"),
)


def moment(value: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were written in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def utc(value: datetime) -> datetime:
    """Written in UTC, so SQLite (which drops the offset) still compares moments correctly."""
    return moment(value).astimezone(UTC)


@dataclass
class AgentRun:
    """One agent step's conversation so far."""

    tenant_id: str
    execution_id: str
    step_id: str
    agent_id: str
    messages: list[dict[str, Any]]
    pending: dict[str, Any] | None = None
    steps_used: int = 0
    cost_usd: Decimal = field(default_factory=Decimal)
    status: str = "running"


def _run_key(tenant_id: str, execution_id: str, step_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        agent_runs.c.tenant_id == tenant_id,
        agent_runs.c.execution_id == execution_id,
        agent_runs.c.step_id == step_id,
    )


async def load_run(engine: AsyncEngine, tenant_id: str, execution_id: str, step_id: str) -> AgentRun | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(sa.select(agent_runs).where(_run_key(tenant_id, execution_id, step_id)))
        ).first()
    if row is None:
        return None
    return AgentRun(
        tenant_id=row.tenant_id,
        execution_id=row.execution_id,
        step_id=row.step_id,
        agent_id=row.agent_id,
        messages=list(row.messages),
        pending=row.pending,
        steps_used=row.steps_used,
        cost_usd=Decimal(str(row.cost_usd)),
        status=row.status,
    )


async def save_run(engine: AsyncEngine, run: AgentRun) -> None:
    """Insert or replace the run (one row per tenant, execution and step)."""
    values = {
        "agent_id": run.agent_id,
        "messages": run.messages,
        "pending": run.pending,
        "steps_used": run.steps_used,
        "cost_usd": run.cost_usd,
        "status": run.status,
        "updated_at": datetime.now(UTC),
    }
    async with engine.begin() as conn:
        updated = await conn.execute(
            agent_runs.update().where(_run_key(run.tenant_id, run.execution_id, run.step_id)).values(values)
        )
        if updated.rowcount == 0:
            await conn.execute(
                agent_runs.insert().values(
                    tenant_id=run.tenant_id, execution_id=run.execution_id, step_id=run.step_id, **values
                )
            )


async def delete_run(engine: AsyncEngine, run: AgentRun) -> None:
    """A finished run (completed or failed for good) is not resumed: the next attempt starts afresh."""
    async with engine.begin() as conn:
        await conn.execute(agent_runs.delete().where(_run_key(run.tenant_id, run.execution_id, run.step_id)))


@dataclass(frozen=True)
class Schedule:
    schedule_id: str
    tenant_id: str
    agent_id: str
    config: dict[str, Any]
    interval_seconds: float
    next_run_at: datetime
    active: bool
    runs: int
    last_run_at: datetime | None
    last_status: str | None
    pending_execution_id: str | None = None


def _schedule(row: Any) -> Schedule:
    return Schedule(
        schedule_id=row.schedule_id,
        tenant_id=row.tenant_id,
        agent_id=row.agent_id,
        config=dict(row.config),
        interval_seconds=float(row.interval_seconds),
        next_run_at=moment(row.next_run_at),
        active=bool(row.active),
        runs=int(row.runs),
        last_run_at=None if row.last_run_at is None else moment(row.last_run_at),
        last_status=row.last_status,
        pending_execution_id=row.pending_execution_id,
    )


async def get_schedule(engine: AsyncEngine, tenant_id: str, agent_id: str) -> Schedule | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(agent_schedules).where(
                    agent_schedules.c.tenant_id == tenant_id, agent_schedules.c.agent_id == agent_id
                )
            )
        ).first()
    return None if row is None else _schedule(row)


async def upsert_schedule(
    engine: AsyncEngine,
    tenant_id: str,
    agent_id: str,
    config: dict[str, Any],
    interval_seconds: float,
    next_run_at: datetime,
) -> Schedule:
    """Start (or restart with a new config) the agent's one schedule."""
    now = datetime.now(UTC)
    values = {
        "config": config,
        "interval_seconds": interval_seconds,
        "next_run_at": utc(next_run_at),
        "active": True,
        "updated_at": now,
    }
    where = sa.and_(agent_schedules.c.tenant_id == tenant_id, agent_schedules.c.agent_id == agent_id)
    async with engine.begin() as conn:
        updated = await conn.execute(agent_schedules.update().where(where).values(values))
        if updated.rowcount == 0:
            await conn.execute(
                agent_schedules.insert().values(
                    schedule_id=f"sched_{uuid.uuid4().hex}",
                    tenant_id=tenant_id,
                    agent_id=agent_id,
                    runs=0,
                    created_at=now,
                    **values,
                )
            )
    schedule = await get_schedule(engine, tenant_id, agent_id)
    assert schedule is not None
    return schedule


async def deactivate_schedule(engine: AsyncEngine, tenant_id: str, agent_id: str) -> bool:
    """Whether an active schedule was stopped."""
    async with engine.begin() as conn:
        result = await conn.execute(
            agent_schedules.update()
            .where(
                agent_schedules.c.tenant_id == tenant_id,
                agent_schedules.c.agent_id == agent_id,
                agent_schedules.c.active.is_(True),
            )
            .values(active=False, updated_at=datetime.now(UTC))
        )
    return bool(result.rowcount)


async def due_schedule_ids(engine: AsyncEngine, now: datetime, limit: int = 100) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(agent_schedules.c.schedule_id)
            .where(agent_schedules.c.active.is_(True), agent_schedules.c.next_run_at <= utc(now))
            .order_by(agent_schedules.c.next_run_at)
            .limit(limit)
        )
        return [row.schedule_id for row in rows]


async def claim_schedule(engine: AsyncEngine, schedule_id: str, now: datetime) -> Schedule | None:
    """Take one due round of the schedule, or None when another process took it (or it stopped):
    a compare-and-set on next_run_at, so one round runs once however many executors poll."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(sa.select(agent_schedules).where(agent_schedules.c.schedule_id == schedule_id))
        ).first()
        if row is None:
            return None
        claimed = await conn.execute(
            agent_schedules.update()
            .where(
                agent_schedules.c.schedule_id == schedule_id,
                agent_schedules.c.active.is_(True),
                agent_schedules.c.next_run_at <= utc(now),
                agent_schedules.c.runs == row.runs,
            )
            .values(
                next_run_at=utc(now) + timedelta(seconds=float(row.interval_seconds)),
                runs=agent_schedules.c.runs + 1,
                updated_at=datetime.now(UTC),
            )
        )
        if claimed.rowcount != 1:
            return None
        row = (
            await conn.execute(sa.select(agent_schedules).where(agent_schedules.c.schedule_id == schedule_id))
        ).first()
    return None if row is None else _schedule(row)


async def record_round(
    engine: AsyncEngine,
    schedule_id: str,
    status: str,
    at: datetime,
    *,
    pending_execution_id: str | None = None,
) -> None:
    """The round's outcome; `pending_execution_id` names a round left waiting for an approval."""
    async with engine.begin() as conn:
        await conn.execute(
            agent_schedules.update()
            .where(agent_schedules.c.schedule_id == schedule_id)
            .values(last_status=status[:200], last_run_at=utc(at), updated_at=datetime.now(UTC))
            .values(pending_execution_id=pending_execution_id)
        )
