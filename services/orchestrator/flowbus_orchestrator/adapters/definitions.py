"""Versioned workflow definitions in the database, per tenant, and the trigger index.

A workflow belongs to a tenant, or is a built-in (tenant "*") that every tenant sees. A
tenant's own workflow shadows the built-in of the same id for that tenant only: once the
tenant has any version of it, the built-in's versions are invisible to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flowbus_orchestrator.adapters.tables import BUILTIN_TENANT, workflow_definitions, workflow_triggers
from flowbus_orchestrator.domain.definitions import WorkflowDefinition
from flowbus_shared.store.engine import standalone_statements

_defs = workflow_definitions.c


@dataclass(frozen=True)
class StoredDefinition:
    definition: WorkflowDefinition
    tenant_id: str  # the owner: a tenant, or BUILTIN_TENANT
    created_at: datetime

    @property
    def builtin(self) -> bool:
        return self.tenant_id == BUILTIN_TENANT


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _visible_to(tenant_id: str) -> sa.ColumnElement[bool]:
    return _defs.tenant_id.in_(sorted({tenant_id, BUILTIN_TENANT}))


def _own_versions_of(tenant_id: str, workflow_id: sa.ColumnElement[str]) -> sa.Exists:
    other = workflow_definitions.alias("own")
    return sa.exists().where(other.c.tenant_id == tenant_id, other.c.workflow_id == workflow_id)


class DefinitionRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # Every start looks its definition up: without BEGIN/ROLLBACK around the look-up (immutable rows).
        self._lookups = standalone_statements(engine)
        # Definitions are immutable per (owner, id, version), so they cache forever.
        self._cache: dict[tuple[str, str, int], StoredDefinition] = {}

    async def register(
        self, definition: WorkflowDefinition, *, tenant_id: str = BUILTIN_TENANT
    ) -> WorkflowDefinition:
        """Store `definition` as the next version of the tenant's workflow (unless it equals
        the latest one the tenant sees). Without a tenant it is a built-in."""
        stored, _created = await self.store(definition, tenant_id=tenant_id)
        return stored.definition

    async def store(
        self, definition: WorkflowDefinition, *, tenant_id: str = BUILTIN_TENANT
    ) -> tuple[StoredDefinition, bool]:
        """The stored version, and whether it is new."""
        latest = await self.find(definition.id, tenant_id=tenant_id)
        if latest is not None:
            same = latest.definition.model_dump(exclude={"version"}) == definition.model_dump(
                exclude={"version"}
            )
            if same:
                return latest, False
        own = latest if latest is not None and latest.tenant_id == tenant_id else None
        version = own.definition.version + 1 if own is not None else max(definition.version, 1)
        definition = definition.model_copy(update={"version": version})
        stored = StoredDefinition(definition, tenant_id, datetime.now(UTC))
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    workflow_definitions.insert().values(
                        tenant_id=tenant_id,
                        workflow_id=definition.id,
                        version=definition.version,
                        definition=definition.model_dump(mode="json"),
                        created_at=stored.created_at,
                    )
                )
                await conn.execute(
                    workflow_triggers.delete().where(
                        workflow_triggers.c.tenant_id == tenant_id,
                        workflow_triggers.c.workflow_id == definition.id,
                    )
                )
                if definition.triggers:
                    await conn.execute(
                        workflow_triggers.insert(),
                        [
                            {"tenant_id": tenant_id, "event_type": t, "workflow_id": definition.id}
                            for t in sorted(set(definition.triggers))
                        ],
                    )
        except IntegrityError:  # another instance registered this version first
            return await self.store(definition, tenant_id=tenant_id)
        self._cache[(tenant_id, definition.id, definition.version)] = stored
        return stored, True

    async def get(
        self, workflow_id: str, version: int | None = None, *, tenant_id: str = BUILTIN_TENANT
    ) -> WorkflowDefinition | None:
        """The definition `tenant_id` sees (its own, else the built-in), latest or `version`."""
        found = await self.find(workflow_id, version, tenant_id=tenant_id)
        return found.definition if found is not None else None

    async def find(
        self, workflow_id: str, version: int | None = None, *, tenant_id: str = BUILTIN_TENANT
    ) -> StoredDefinition | None:
        query = sa.select(_defs.tenant_id, _defs.version, _defs.definition, _defs.created_at).where(
            _defs.workflow_id == workflow_id
        )
        async with self._lookups.connect() as conn:
            if version is None:
                # One query (this is every start's): the tenant's own latest, else the built-in's.
                own_first = sa.case((_defs.tenant_id == tenant_id, 0), else_=1)
                query = query.where(_visible_to(tenant_id)).order_by(own_first, _defs.version.desc())
            else:
                owner = await self._owner(conn, workflow_id, tenant_id)
                if owner is None:
                    return None
                if (owner, workflow_id, version) in self._cache:
                    return self._cache[(owner, workflow_id, version)]
                query = query.where(_defs.tenant_id == owner, _defs.version == version)
            row = (await conn.execute(query.limit(1))).first()
        if row is None:
            return None
        key = (row.tenant_id, workflow_id, row.version)
        if key not in self._cache:
            definition = WorkflowDefinition.model_validate(row.definition)
            self._cache[key] = StoredDefinition(definition, row.tenant_id, _utc(row.created_at))
        return self._cache[key]

    async def _owner(self, conn: AsyncConnection, workflow_id: str, tenant_id: str) -> str | None:
        """Whose versions of `workflow_id` the tenant sees: its own if it has any."""
        owners = await conn.execute(
            sa.select(_defs.tenant_id)
            .where(_defs.workflow_id == workflow_id, _visible_to(tenant_id))
            .group_by(_defs.tenant_id)
        )
        found = {row.tenant_id for row in owners}
        if tenant_id in found:
            return tenant_id
        return BUILTIN_TENANT if BUILTIN_TENANT in found else None

    async def versions(self, workflow_id: str, *, tenant_id: str = BUILTIN_TENANT) -> list[int]:
        async with self._engine.connect() as conn:
            owner = await self._owner(conn, workflow_id, tenant_id)
            if owner is None:
                return []
            result = await conn.execute(
                sa.select(_defs.version)
                .where(_defs.tenant_id == owner, _defs.workflow_id == workflow_id)
                .order_by(_defs.version)
            )
            return [row.version for row in result]

    async def latest_page(
        self, *, tenant_id: str = BUILTIN_TENANT, after: str | None = None, limit: int = 100
    ) -> list[StoredDefinition]:
        """The latest version of each workflow the tenant sees, by id, after `after`."""
        newest = sa.select(
            _defs.tenant_id, _defs.workflow_id, sa.func.max(_defs.version).label("version")
        ).where(_visible_to(tenant_id))
        if after is not None:
            newest = newest.where(_defs.workflow_id > after)
        latest = newest.group_by(_defs.tenant_id, _defs.workflow_id).subquery()
        shadowed = sa.and_(
            latest.c.tenant_id == BUILTIN_TENANT,
            _own_versions_of(tenant_id, latest.c.workflow_id),
        )
        query = (
            sa.select(_defs.tenant_id, _defs.definition, _defs.created_at)
            .join(
                latest,
                sa.and_(
                    _defs.tenant_id == latest.c.tenant_id,
                    _defs.workflow_id == latest.c.workflow_id,
                    _defs.version == latest.c.version,
                ),
            )
            .order_by(_defs.workflow_id)
            .limit(limit)
        )
        if tenant_id != BUILTIN_TENANT:
            query = query.where(sa.not_(shadowed))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            StoredDefinition(WorkflowDefinition.model_validate(r.definition), r.tenant_id, _utc(r.created_at))
            for r in rows
        ]

    async def latest_all(self, *, tenant_id: str = BUILTIN_TENANT) -> list[WorkflowDefinition]:
        page = await self.latest_page(tenant_id=tenant_id, limit=1_000_000)
        return [stored.definition for stored in page]

    async def listening_to(self, event_type: str, *, tenant_id: str = BUILTIN_TENANT) -> list[str]:
        """Ids of the workflows a tenant's `event_type` trigger starts: the tenant's own, and
        the built-ins it has not shadowed."""
        triggers = workflow_triggers.c
        query = (
            sa.select(triggers.workflow_id)
            .where(triggers.event_type == event_type)
            .where(
                sa.or_(
                    triggers.tenant_id == tenant_id,
                    sa.and_(
                        triggers.tenant_id == BUILTIN_TENANT,
                        sa.not_(_own_versions_of(tenant_id, triggers.workflow_id)),
                    ),
                )
            )
            .order_by(triggers.workflow_id)
        )
        async with self._engine.connect() as conn:
            return [row.workflow_id for row in await conn.execute(query)]
