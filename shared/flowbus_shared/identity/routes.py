"""The identity HTTP API: tenants, users and API keys, each scoped by the caller's tenant."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_shared.auth import ApiKeys
from flowbus_shared.http import Authenticator
from flowbus_shared.identity.access import admins
from flowbus_shared.identity.key_routes import key_router
from flowbus_shared.identity.settings import IdentitySettings
from flowbus_shared.identity.tenant_routes import tenant_router
from flowbus_shared.identity.tenants import Tenants
from flowbus_shared.identity.user_routes import user_router
from flowbus_shared.identity.users import Users


def identity_router(engine: AsyncEngine, auth: Authenticator, settings: IdentitySettings) -> APIRouter:
    """/v1/tenants, /v1/users and /v1/api-keys, guarded by `auth` (admins only)."""
    admin = admins(auth)
    router = APIRouter()
    tenants = Tenants(engine, keep_enabled=settings.platform_tenant)
    router.include_router(tenant_router(tenants, admin, settings.platform_tenant))
    router.include_router(user_router(Users(engine), admin))
    router.include_router(key_router(ApiKeys(engine, cache_seconds=0), admin))
    return router
