"""A tenant's connections as the API shows them: the vault does the sealing; this adds what a
listing needs besides (when each was last stored) and keeps the llm-gateway's provider keys,
which share the vault, out of the executor's view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_executor.api.kinds import RESERVED_SERVICES
from flowbus_shared.vault import Connection, ConnectionVault, connections


@dataclass(frozen=True)
class StoredConnection:
    name: str
    service: str
    fingerprint: str
    key_id: str
    updated_at: datetime


def _stored(row: Any) -> StoredConnection:
    updated_at = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=UTC)  # SQLite
    return StoredConnection(row.name, row.service, row.fingerprint, row.key_id, updated_at)


class ConnectionCatalogue:
    def __init__(self, engine: AsyncEngine, vault: ConnectionVault) -> None:
        self._engine = engine
        self._vault = vault

    def _visible(self, tenant_id: str) -> sa.Select[Any]:
        return (
            sa.select(
                connections.c.name,
                connections.c.service,
                connections.c.fingerprint,
                connections.c.key_id,
                connections.c.updated_at,
            )
            .where(connections.c.tenant_id == tenant_id)
            .where(connections.c.service.not_in(RESERVED_SERVICES))
        )

    async def list(self, tenant_id: str) -> list[StoredConnection]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(self._visible(tenant_id).order_by(connections.c.name))
            return [_stored(row) for row in rows]

    async def describe(self, tenant_id: str, name: str) -> StoredConnection | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(self._visible(tenant_id).where(connections.c.name == name))).first()
        return None if row is None else _stored(row)

    async def put(
        self, tenant_id: str, name: str, service: str, secrets: dict[str, Any]
    ) -> StoredConnection | None:
        """Seal and store; the stored connection (None if a concurrent delete removed it at once).
        Raises VaultError when no master key is configured."""
        await self._vault.put(tenant_id, name, service, secrets)
        return await self.describe(tenant_id, name)

    async def open(self, tenant_id: str, name: str) -> Connection:
        """The connection with its secrets (raises VaultError when it does not open)."""
        return await self._vault.get(tenant_id, name)

    async def delete(self, tenant_id: str, name: str) -> bool:
        if await self.describe(tenant_id, name) is None:
            return False
        return await self._vault.delete(tenant_id, name)
