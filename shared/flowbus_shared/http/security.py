"""Bearer authentication for FastAPI routes: `Authorization: Bearer fbk_...` -> Principal.

A route asks for a role with `Depends(auth.require("operator"))`. A `service` key (one
flowbus service calling another) acts for the tenant named in `X-Flowbus-Tenant`; every
other key acts for its own tenant only, whatever headers say.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from flowbus_shared.auth import ApiKeys, Principal, Role, role_allows
from flowbus_shared.http.problems import ApiError

TENANT_HEADER = "x-flowbus-tenant"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="flowbus"'}


class Authenticator:
    def __init__(self, keys: ApiKeys) -> None:
        self._keys = keys

    async def principal(self, request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "an API key is required: Authorization: Bearer fbk_...", headers=_CHALLENGE)
        principal = await self._keys.authenticate(token.strip())
        if principal is None:
            raise ApiError(
                401, "the API key is unknown or revoked", code="invalid_api_key", headers=_CHALLENGE
            )
        acting_for = request.headers.get(TENANT_HEADER)
        if principal.role == "service" and acting_for:
            return Principal(acting_for, "service", principal.key_id)
        return principal

    def require(self, role: Role) -> Callable[[Request], Awaitable[Principal]]:
        async def dependency(request: Request) -> Principal:
            principal = await self.principal(request)
            if not role_allows(principal.role, role):
                raise ApiError(403, f"this needs the {role} role; the key has {principal.role}")
            return principal

        return dependency
