"""Tenants: the platform tenant's admins create, list and disable them; any other admin
sees only their own tenant (another tenant is a 404, as if it did not exist)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, Request

from flowbus_shared.auth import IdentityError, Principal
from flowbus_shared.http import ApiError
from flowbus_shared.identity.access import as_api_error
from flowbus_shared.identity.models import TenantIn, TenantList, TenantOut, problems
from flowbus_shared.identity.tenants import Tenants


def tenant_router(
    tenants: Tenants, admin: Callable[[Request], Awaitable[Principal]], platform_tenant: str
) -> APIRouter:
    router = APIRouter(prefix="/v1/tenants", tags=["tenants"])
    any_admin = Depends(admin)

    def require_platform(principal: Principal) -> None:
        if principal.tenant_id != platform_tenant:
            raise ApiError(403, f"only admins of the platform tenant {platform_tenant!r} manage tenants")

    def visible(principal: Principal, tenant_id: str) -> bool:
        return principal.tenant_id in (platform_tenant, tenant_id)

    @router.post("", status_code=201, response_model=TenantOut, responses=problems(401, 403, 409))
    async def create_tenant(body: TenantIn, principal: Principal = any_admin) -> TenantOut:
        """Register a tenant (one known only from its keys is adopted with them)."""
        require_platform(principal)
        try:
            return TenantOut.of(await tenants.create(body.tenant_id, body.name))
        except ValueError as error:
            raise as_api_error(error) from None

    @router.get("", response_model=TenantList, responses=problems(401, 403))
    async def list_tenants(principal: Principal = any_admin) -> TenantList:
        """Every tenant for platform admins; the caller's own (when registered) for other admins."""
        if principal.tenant_id == platform_tenant:
            return TenantList(data=[TenantOut.of(t) for t in await tenants.list()])
        own = await tenants.get(principal.tenant_id)
        return TenantList(data=[] if own is None else [TenantOut.of(own)])

    @router.get("/{tenant_id}", response_model=TenantOut, responses=problems(401, 403, 404))
    async def get_tenant(tenant_id: str, principal: Principal = any_admin) -> TenantOut:
        tenant = await tenants.get(tenant_id) if visible(principal, tenant_id) else None
        if tenant is None:
            raise ApiError(404, f"no tenant {tenant_id!r} is registered")
        return TenantOut.of(tenant)

    @router.post("/{tenant_id}/disable", response_model=TenantOut, responses=problems(401, 403, 404, 409))
    async def disable_tenant(tenant_id: str, principal: Principal = any_admin) -> TenantOut:
        """Disable a tenant: its keys and tokens stop working; its data stays."""
        require_platform(principal)
        try:
            return TenantOut.of(await tenants.disable(tenant_id))
        except IdentityError as error:
            raise as_api_error(error) from None

    return router
