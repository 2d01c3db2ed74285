"""Users of the caller's tenant, managed by its admins; another tenant's user is a 404."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, Request

from flowbus_shared.auth import Principal, role_allows
from flowbus_shared.http import ApiError
from flowbus_shared.identity.access import as_api_error
from flowbus_shared.identity.models import UserIn, UserList, UserOut, UserRevoked, problems
from flowbus_shared.identity.users import Users


def user_router(users: Users, admin: Callable[[Request], Awaitable[Principal]]) -> APIRouter:
    router = APIRouter(prefix="/v1/users", tags=["users"])
    tenant_admin = Depends(admin)

    @router.post("", status_code=201, response_model=UserOut, responses=problems(401, 403, 409))
    async def create_user(body: UserIn, principal: Principal = tenant_admin) -> UserOut:
        if not role_allows(principal.role, body.role):
            raise ApiError(403, f"a {principal.role} cannot create a user with the {body.role} role")
        try:
            user = await users.create(
                principal.tenant_id, email=body.email, role=body.role, name=body.name, user_id=body.user_id
            )
        except ValueError as error:
            raise as_api_error(error) from None
        return UserOut.of(user)

    @router.get("", response_model=UserList, responses=problems(401, 403))
    async def list_users(principal: Principal = tenant_admin) -> UserList:
        return UserList(data=[UserOut.of(u) for u in await users.list(principal.tenant_id)])

    @router.get("/{user_id}", response_model=UserOut, responses=problems(401, 403, 404))
    async def get_user(user_id: str, principal: Principal = tenant_admin) -> UserOut:
        user = await users.get(principal.tenant_id, user_id)
        if user is None:
            raise ApiError(404, f"no user {user_id!r}")
        return UserOut.of(user)

    @router.delete("/{user_id}", response_model=UserRevoked, responses=problems(401, 403, 404, 409))
    async def revoke_user(user_id: str, principal: Principal = tenant_admin) -> UserRevoked:
        """Revoke the user and every key of theirs; their JWTs are refused from now on."""
        try:
            user, revoked_keys = await users.revoke(principal.tenant_id, user_id)
        except ValueError as error:
            raise as_api_error(error) from None
        return UserRevoked(**UserOut.of(user).model_dump(), revoked_keys=revoked_keys)

    return router
