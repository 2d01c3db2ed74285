"""The agent registry: who each agent is, its maturity status and its confidence score.

Every change is audited in the transaction that makes it. Changes that depend on the current values
(`update`, `set_status`, `change_confidence`) read the row under a lock first - `SELECT ... FOR UPDATE`
on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serialises writers - so concurrent confidence
updates never lose one another. Agents are never deleted, only given another status.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flowbus_governance.adapters.audit import AuditLog, utc
from flowbus_governance.adapters.tables import governance_agents, governance_outcome_causes

ConfidenceRule = Callable[[str, float], tuple[str, float]]
# Maturity levels, weakest first (paused and deprecated are none): a move up one is a promotion.
MATURITY_LADDER = ("student", "intern", "supervised", "autonomous")


class AgentError(Exception):
    """An agent operation that cannot be carried out."""


class AgentExists(AgentError):
    def __init__(self, tenant_id: str, agent_id: str) -> None:
        self.tenant_id, self.agent_id = tenant_id, agent_id
        super().__init__(f"agent {agent_id!r} of tenant {tenant_id!r} is already registered")


class AgentNotFound(AgentError):
    def __init__(self, tenant_id: str, agent_id: str) -> None:
        self.tenant_id, self.agent_id = tenant_id, agent_id
        super().__init__(f"tenant {tenant_id!r} has no agent {agent_id!r}")


@dataclass(frozen=True)
class Agent:
    tenant_id: str
    agent_id: str
    name: str
    category: str
    agent_type: str
    status: str
    confidence: float
    capabilities: tuple[str, ...]
    owner: str
    created_at: datetime
    updated_at: datetime


def _agent(row: Any) -> Agent:
    return Agent(
        tenant_id=row.tenant_id,
        agent_id=row.agent_id,
        name=row.name,
        category=row.category,
        agent_type=row.agent_type,
        status=row.status,
        confidence=float(row.confidence),
        capabilities=tuple(row.capabilities),
        owner=row.owner,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
    )


def _confidence(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"confidence must be a number in [0, 1], not {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"confidence must be in [0, 1], not {value}")
    return float(value)


def _status(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"status must be a non-empty string, not {value!r}")
    return value


def _capabilities(values: Iterable[str]) -> list[str]:
    if isinstance(values, str):
        raise ValueError("capabilities must be a list of strings, not one string")
    listed = list(values)
    if not all(isinstance(value, str) for value in listed):
        raise ValueError("capabilities must be strings")
    return listed


class AgentRepository:
    def __init__(self, engine: AsyncEngine, audit: AuditLog) -> None:
        self._engine = engine
        self._audit = audit
        self._postgres = engine.dialect.name == "postgresql"  # else SQLite

    async def register(
        self,
        tenant_id: str,
        agent_id: str,
        *,
        name: str,
        category: str = "",
        agent_type: str = "",
        capabilities: Iterable[str] = (),
        owner: str = "",
        status: str = "student",
        confidence: float = 0.5,
    ) -> Agent:
        """Add an agent; raises AgentExists if the tenant already has one with this id."""
        now = datetime.now(UTC)
        agent = Agent(
            tenant_id=tenant_id,
            agent_id=agent_id,
            name=name,
            category=category,
            agent_type=agent_type,
            status=_status(status),
            confidence=_confidence(confidence),
            capabilities=tuple(_capabilities(capabilities)),
            owner=owner,
            created_at=now,
            updated_at=now,
        )
        values = {**asdict(agent), "capabilities": list(agent.capabilities)}
        insert = (pg_insert if self._postgres else sqlite_insert)(governance_agents).values(**values)
        statement = insert.on_conflict_do_nothing(
            index_elements=[governance_agents.c.tenant_id, governance_agents.c.agent_id]
        ).returning(governance_agents.c.agent_id)
        async with self._engine.begin() as conn:
            if (await conn.execute(statement)).first() is None:
                raise AgentExists(tenant_id, agent_id)
            record = {key: value for key, value in values.items() if key not in ("tenant_id", "updated_at")}
            await self._audit.append(conn, tenant_id, "agent.registered", record)
        return agent

    async def get(self, tenant_id: str, agent_id: str) -> Agent | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(governance_agents).where(*_key(tenant_id, agent_id)))).first()
        return None if row is None else _agent(row)

    async def list(self, tenant_id: str) -> list[Agent]:
        """The tenant's agents by id."""
        g = governance_agents.c
        query = sa.select(governance_agents).where(g.tenant_id == tenant_id).order_by(g.agent_id)
        async with self._engine.connect() as conn:
            return [_agent(row) for row in await conn.execute(query)]

    async def update(
        self,
        tenant_id: str,
        agent_id: str,
        *,
        name: str | None = None,
        category: str | None = None,
        agent_type: str | None = None,
        capabilities: Iterable[str] | None = None,
        owner: str | None = None,
    ) -> Agent:
        """Change the descriptive fields given (None leaves one as it is); audits the changed ones.

        Status and confidence change only through `set_status` and `change_confidence`."""
        given: dict[str, Any] = {
            "name": name,
            "category": category,
            "agent_type": agent_type,
            "capabilities": None if capabilities is None else _capabilities(capabilities),
            "owner": owner,
        }
        async with self._engine.begin() as conn:
            before = await self._locked(conn, tenant_id, agent_id)
            if before is None:
                raise AgentNotFound(tenant_id, agent_id)
            current = {**asdict(before), "capabilities": list(before.capabilities)}
            changed = {
                key: value for key, value in given.items() if value is not None and value != current[key]
            }
            if not changed:
                return before
            after = await self._write(conn, tenant_id, agent_id, changed)
            old = {key: current[key] for key in changed}
            record = {"agent_id": agent_id, "changed": sorted(changed), "old": old, "new": changed}
            await self._audit.append(conn, tenant_id, "agent.updated", record)
        return after

    async def set_status(
        self,
        tenant_id: str,
        agent_id: str,
        status: str,
        *,
        by: str,
        reason: str,
        promotion: bool | None = None,
    ) -> Agent:
        """A manual status change (promotion, pause, deprecation) audited with by/reason/old/new: as
        "agent.promoted" for a promotion, else "agent.status". `promotion` None means a move up the
        maturity ladder (student < intern < supervised < autonomous). Who may do it is the caller's check.
        Setting the status the agent already has changes (and audits) nothing."""
        _status(status)
        async with self._engine.begin() as conn:
            before = await self._locked(conn, tenant_id, agent_id)
            if before is None:
                raise AgentNotFound(tenant_id, agent_id)
            if before.status == status:
                return before
            after = await self._write(conn, tenant_id, agent_id, {"status": status})
            record = {"agent_id": agent_id, "by": by, "reason": reason, "old_status": before.status}
            record["new_status"] = status
            if promotion is None:
                promotion = _rank(status) > _rank(before.status) >= 0
            kind = "agent.promoted" if promotion else "agent.status"
            await self._audit.append(conn, tenant_id, kind, record)
        return after

    async def change_confidence(
        self, tenant_id: str, agent_id: str, compute: ConfidenceRule, *, cause: str
    ) -> tuple[Agent, Agent] | None:
        """Atomic read-modify-write of status and confidence: `compute(old_status, old_confidence)`
        returns the new pair, computed and written under the row lock and audited with it.

        Returns (before, after), or None if the agent does not exist. A `cause` already counted
        changes nothing (before and after are the same): a redelivered outcome or a repeated
        feedback id moves confidence once. An out-of-range confidence from `compute` raises
        ValueError and changes nothing."""
        async with self._engine.begin() as conn:
            before = await self._locked(conn, tenant_id, agent_id)
            if before is None:
                return None
            causes = governance_outcome_causes.c
            seen = sa.select(causes.cause).where(
                causes.tenant_id == tenant_id, causes.agent_id == agent_id, causes.cause == cause
            )
            if (await conn.execute(seen)).first() is not None:
                return before, before
            await conn.execute(
                governance_outcome_causes.insert().values(
                    tenant_id=tenant_id, cause=cause, agent_id=agent_id, recorded_at=datetime.now(UTC)
                )
            )
            new_status, new_confidence = compute(before.status, before.confidence)
            values = {"status": _status(new_status), "confidence": _confidence(new_confidence)}
            after = await self._write(conn, tenant_id, agent_id, values)
            record = {
                "agent_id": agent_id,
                "cause": cause,
                "old_confidence": before.confidence,
                "new_confidence": after.confidence,
                "old_status": before.status,
                "new_status": after.status,
            }
            await self._audit.append(conn, tenant_id, "agent.confidence", record)
        return before, after

    async def _locked(self, conn: AsyncConnection, tenant_id: str, agent_id: str) -> Agent | None:
        """The agent's row, locked until the transaction ends (SQLite: the whole database already is)."""
        query = sa.select(governance_agents).where(*_key(tenant_id, agent_id))
        if self._postgres:
            query = query.with_for_update()
        row = (await conn.execute(query)).first()
        return None if row is None else _agent(row)

    async def _write(
        self, conn: AsyncConnection, tenant_id: str, agent_id: str, values: dict[str, Any]
    ) -> Agent:
        statement = (
            governance_agents.update()
            .where(*_key(tenant_id, agent_id))
            .values(**values, updated_at=datetime.now(UTC))
            .returning(*governance_agents.c)
        )
        return _agent((await conn.execute(statement)).one())


def _rank(status: str) -> int:
    return MATURITY_LADDER.index(status) if status in MATURITY_LADDER else -1


def _key(tenant_id: str, agent_id: str) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    return governance_agents.c.tenant_id == tenant_id, governance_agents.c.agent_id == agent_id
