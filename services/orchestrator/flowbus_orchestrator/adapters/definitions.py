"""Versioned workflow definitions in the database, and the trigger index."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_orchestrator.adapters.tables import workflow_definitions, workflow_triggers
from flowbus_orchestrator.domain.definitions import WorkflowDefinition


class DefinitionRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # Definitions are immutable per (id, version), so they cache forever.
        self._cache: dict[tuple[str, int], WorkflowDefinition] = {}

    async def register(self, definition: WorkflowDefinition) -> WorkflowDefinition:
        """Store `definition` as the next version of its workflow (unless it equals the latest)."""
        latest = await self.get(definition.id)
        if latest is not None:
            same = latest.model_dump(exclude={"version"}) == definition.model_dump(exclude={"version"})
            if same:
                return latest
            definition = definition.model_copy(update={"version": latest.version + 1})
        else:
            definition = definition.model_copy(update={"version": max(definition.version, 1)})
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    workflow_definitions.insert().values(
                        workflow_id=definition.id,
                        version=definition.version,
                        definition=definition.model_dump(mode="json"),
                        created_at=datetime.now(UTC),
                    )
                )
                await conn.execute(
                    workflow_triggers.delete().where(workflow_triggers.c.workflow_id == definition.id)
                )
                if definition.triggers:
                    await conn.execute(
                        workflow_triggers.insert(),
                        [{"event_type": t, "workflow_id": definition.id} for t in set(definition.triggers)],
                    )
        except IntegrityError:  # another instance registered this version first
            return await self.register(definition)
        self._cache[(definition.id, definition.version)] = definition
        return definition

    async def get(self, workflow_id: str, version: int | None = None) -> WorkflowDefinition | None:
        if version is not None and (workflow_id, version) in self._cache:
            return self._cache[(workflow_id, version)]
        query = sa.select(workflow_definitions.c.definition).where(
            workflow_definitions.c.workflow_id == workflow_id
        )
        if version is not None:
            query = query.where(workflow_definitions.c.version == version)
        query = query.order_by(workflow_definitions.c.version.desc()).limit(1)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        definition = WorkflowDefinition.model_validate(row.definition)
        self._cache[(definition.id, definition.version)] = definition
        return definition

    async def versions(self, workflow_id: str) -> list[int]:
        async with self._engine.connect() as conn:
            result = await conn.execute(
                sa.select(workflow_definitions.c.version)
                .where(workflow_definitions.c.workflow_id == workflow_id)
                .order_by(workflow_definitions.c.version)
            )
            return [row.version for row in result]

    async def latest_all(self) -> list[WorkflowDefinition]:
        newest = (
            sa.select(
                workflow_definitions.c.workflow_id, sa.func.max(workflow_definitions.c.version).label("v")
            )
            .group_by(workflow_definitions.c.workflow_id)
            .subquery()
        )
        query = sa.select(workflow_definitions.c.definition).join(
            newest,
            sa.and_(
                workflow_definitions.c.workflow_id == newest.c.workflow_id,
                workflow_definitions.c.version == newest.c.v,
            ),
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.order_by(workflow_definitions.c.workflow_id))).all()
        return [WorkflowDefinition.model_validate(row.definition) for row in rows]

    async def listening_to(self, event_type: str) -> list[str]:
        async with self._engine.connect() as conn:
            result = await conn.execute(
                sa.select(workflow_triggers.c.workflow_id)
                .where(workflow_triggers.c.event_type == event_type)
                .order_by(workflow_triggers.c.workflow_id)
            )
            return [row.workflow_id for row in result]
