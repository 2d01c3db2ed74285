"""Who may manage identities: admins (never a `service` key), and for tenants only the
platform tenant's admins; and how refusals become problem answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from flowbus_shared.auth import Conflict, Forbidden, IdentityError, NotFound, Principal
from flowbus_shared.http import ApiError, Authenticator

_STATUS = {NotFound: 404, Conflict: 409, Forbidden: 403}


def admins(auth: Authenticator) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency admitting admins of their own tenant only (service keys act for any tenant
    they name, so they do not manage identities)."""
    require_admin = auth.require("admin")

    async def dependency(request: Request) -> Principal:
        principal = await require_admin(request)
        if principal.role != "admin":
            raise ApiError(403, "identities are managed by admins; a service key cannot")
        return principal

    return dependency


def as_api_error(error: ValueError) -> ApiError:
    """The problem answer of a refused identity change (422 for input the models let through)."""
    if isinstance(error, IdentityError) and type(error) in _STATUS:
        return ApiError(_STATUS[type(error)], str(error))
    return ApiError(422, str(error), code="invalid_request")
