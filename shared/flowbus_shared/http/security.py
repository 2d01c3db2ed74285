"""Bearer authentication for FastAPI routes: `Authorization: Bearer <credential>` -> Principal.

A route asks for a role with `Depends(auth.require("operator"))`. Credentials starting with
`fbk_` are flowbus API keys; any other bearer token goes to the `TokenVerifier` (JWTs), if
the service has one. A `service` key (one flowbus service calling another) acts for the
tenant named in `X-Flowbus-Tenant`; every other key acts for its own tenant only, whatever
headers say.

Once the caller is known, its key (or token subject) is rate limited (`limiter`; service
keys are exempt): over the limit, 429 with Retry-After. The principal is kept on the
request (`request.state.principal`), so a request is authenticated and counted once and
the access log can name the key.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Protocol

from fastapi import Request

from flowbus_shared.auth import ApiKeys, Principal, Role, role_allows
from flowbus_shared.auth.api_keys import PREFIX
from flowbus_shared.http.problems import ApiError
from flowbus_shared.http.rate_limit import RateLimiter

TENANT_HEADER = "x-flowbus-tenant"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="flowbus"'}
_KEY_PREFIX = f"{PREFIX}_"


class TokenVerifier(Protocol):
    async def verify(self, token: str) -> Principal | None:
        """The principal a bearer token stands for; None when it is not valid (now)."""


class Authenticator:
    def __init__(
        self, keys: ApiKeys, *, tokens: TokenVerifier | None = None, limiter: RateLimiter | None = None
    ) -> None:
        self._keys = keys
        self._tokens = tokens
        self._limiter = limiter

    async def principal(self, request: Request) -> Principal:
        known = getattr(request.state, "principal", None)
        if isinstance(known, Principal):
            return known
        principal = await self._authenticate(request)
        request.state.principal = principal
        self._limit(principal)
        return principal

    async def _authenticate(self, request: Request) -> Principal:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        token = credential.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "an API key is required: Authorization: Bearer fbk_...", headers=_CHALLENGE)
        if token.startswith(_KEY_PREFIX):
            principal = await self._keys.authenticate(token)
            refusal, code = "the API key is unknown or revoked", "invalid_api_key"
        elif self._tokens is not None:
            principal = await self._tokens.verify(token)
            refusal, code = "the bearer token is invalid or expired", "invalid_token"
        else:
            principal = None
            refusal, code = "the bearer credential is not a flowbus API key (fbk_...)", "invalid_api_key"
        if principal is None:
            raise ApiError(401, refusal, code=code, headers=_CHALLENGE)
        acting_for = request.headers.get(TENANT_HEADER)
        if principal.role == "service" and acting_for:
            return Principal(acting_for, "service", principal.key_id)
        return principal

    def _limit(self, principal: Principal) -> None:
        if self._limiter is None or principal.role == "service":
            return
        wait = self._limiter.retry_after(principal.key_id)
        if wait is None:
            return
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            f"too many requests with this key: at most {self._limiter.per_second:g} a second "
            f"(bursts of {self._limiter.burst}); retry in {seconds} s",
            code="rate_limited",
            headers={"Retry-After": str(seconds)},
        )

    def require(self, role: Role) -> Callable[[Request], Awaitable[Principal]]:
        async def dependency(request: Request) -> Principal:
            principal = await self.principal(request)
            if not role_allows(principal.role, role):
                raise ApiError(403, f"this needs the {role} role; the key has {principal.role}")
            return principal

        return dependency
