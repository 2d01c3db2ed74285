"""API keys of the caller's tenant, managed by its admins: made (the token shown once),
listed without secrets, revoked. Never a `service` key, never one stronger than the caller
or than the user it belongs to; another tenant's key is a 404."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, Query, Request

from flowbus_shared.auth import ApiKeys, Principal, role_allows
from flowbus_shared.http import ApiError
from flowbus_shared.identity.access import as_api_error
from flowbus_shared.identity.models import ApiKeyIn, ApiKeyList, ApiKeyOut, IssuedApiKey, problems


def key_router(keys: ApiKeys, admin: Callable[[Request], Awaitable[Principal]]) -> APIRouter:
    router = APIRouter(prefix="/v1/api-keys", tags=["api-keys"])
    tenant_admin = Depends(admin)

    async def existing(tenant_id: str, key_id: str) -> ApiKeyOut:
        row = await keys.get(tenant_id, key_id)
        if row is None:
            raise ApiError(404, f"no API key {key_id!r}")
        return ApiKeyOut.of(row)

    @router.post("", status_code=201, response_model=IssuedApiKey, responses=problems(401, 403, 404, 409))
    async def create_key(body: ApiKeyIn, principal: Principal = tenant_admin) -> IssuedApiKey:
        """Make a key; the response holds the whole key, which is never shown again."""
        if not role_allows(principal.role, body.role):
            raise ApiError(403, f"a {principal.role} cannot make a key with the {body.role} role")
        try:
            issued = await keys.create(principal.tenant_id, body.role, body.name, user_id=body.user_id)
        except ValueError as error:
            raise as_api_error(error) from None
        stored = await existing(principal.tenant_id, issued.key_id)
        return IssuedApiKey(**stored.model_dump(), token=issued.token)

    @router.get("", response_model=ApiKeyList, responses=problems(401, 403))
    async def list_keys(
        principal: Principal = tenant_admin,
        user_id: str | None = Query(default=None, description="only this user's keys"),
    ) -> ApiKeyList:
        rows = await keys.list(principal.tenant_id, user_id=user_id)
        return ApiKeyList(data=[ApiKeyOut.of(row) for row in rows])

    @router.get("/{key_id}", response_model=ApiKeyOut, responses=problems(401, 403, 404))
    async def get_key(key_id: str, principal: Principal = tenant_admin) -> ApiKeyOut:
        return await existing(principal.tenant_id, key_id)

    @router.delete("/{key_id}", response_model=ApiKeyOut, responses=problems(401, 403, 404, 409))
    async def revoke_key(key_id: str, principal: Principal = tenant_admin) -> ApiKeyOut:
        """Revoke a key: refused at once by this service, within the credential cache time elsewhere."""
        await existing(principal.tenant_id, key_id)
        if not await keys.revoke(principal.tenant_id, key_id):
            raise ApiError(409, f"API key {key_id!r} is revoked already")
        return await existing(principal.tenant_id, key_id)

    return router
