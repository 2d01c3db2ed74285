"""Registered tenants: created, listed, disabled (which stops their keys and tokens at once in
this process, within the credential cache time elsewhere)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_shared.auth import Conflict, Forbidden, NotFound, credentials_changed
from flowbus_shared.auth.tables import tenants
from flowbus_shared.identity.records import TENANT_ID, Tenant, checked, maybe_utc, utc


def _tenant(row: Any) -> Tenant:
    return Tenant(row.tenant_id, row.name, utc(row.created_at), maybe_utc(row.disabled_at))


class Tenants:
    def __init__(self, engine: AsyncEngine, *, keep_enabled: str | None = None) -> None:
        """`keep_enabled`: a tenant that may never be disabled (the platform tenant)."""
        self._engine = engine
        self._keep_enabled = keep_enabled

    async def create(self, tenant_id: str, name: str = "") -> Tenant:
        """Register a tenant; one known only from its keys is adopted with them."""
        checked(tenant_id, TENANT_ID, "tenant id")
        tenant = Tenant(tenant_id, (name or tenant_id)[:200], datetime.now(UTC), None)
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    tenants.insert().values(
                        tenant_id=tenant.tenant_id, name=tenant.name, created_at=tenant.created_at
                    )
                )
        except sa.exc.IntegrityError:
            raise Conflict(f"tenant {tenant_id!r} exists already") from None
        return tenant

    async def get(self, tenant_id: str) -> Tenant | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(tenants).where(tenants.c.tenant_id == tenant_id))).first()
        return None if row is None else _tenant(row)

    async def list(self) -> list[Tenant]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(sa.select(tenants).order_by(tenants.c.tenant_id))
            return [_tenant(row) for row in rows]

    async def disable(self, tenant_id: str) -> Tenant:
        """Disable a registered tenant: its keys and tokens stop working (its data stays)."""
        if tenant_id == self._keep_enabled:
            raise Forbidden(f"tenant {tenant_id!r} is the platform tenant and cannot be disabled")
        async with self._engine.begin() as conn:
            result = await conn.execute(
                tenants.update()
                .where(tenants.c.tenant_id == tenant_id, tenants.c.disabled_at.is_(None))
                .values(disabled_at=datetime.now(UTC))
            )
            row = (await conn.execute(sa.select(tenants).where(tenants.c.tenant_id == tenant_id))).first()
        if row is None:
            raise NotFound(f"no tenant {tenant_id!r} is registered")
        if not result.rowcount:
            raise Conflict(f"tenant {tenant_id!r} is disabled already")
        credentials_changed()
        return _tenant(row)
