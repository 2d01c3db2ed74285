"""JWTs as bearer tokens: HS256 only, signed with a secret flowbus shares with whoever issues
them (`flowbus tokens issue`, or an identity provider configured with the same secret).

Required claims: `sub` (who), `tenant`, `role` (admin, operator or viewer: never service),
`exp`; `aud` must be the configured audience and, when an issuer is configured, `iss` must
be it. A token whose `sub` names a user of its tenant stands for that user: refused once the
user is revoked, and never stronger than the user's role. A token of a disabled tenant is
refused. Subjects that are not flowbus users (people of an identity provider) are accepted
with the token's role.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import jwt
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_shared.auth.api_keys import PERSON_ROLES, PersonRole, Principal, role_allows
from flowbus_shared.auth.freshness import CredentialCache
from flowbus_shared.auth.tables import tenants, users

log = logging.getLogger("flowbus.auth")

ALGORITHM = "HS256"
MIN_SECRET_LENGTH = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash (256 bits)
MAX_TOKEN_LENGTH = 8192
REQUIRED_CLAIMS = ("sub", "tenant", "role", "exp")


class TokenRefused(Exception):
    """Why a token is not accepted (never contains the token or the secret)."""


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    tenant_id: str
    role: PersonRole


def check_secret(secret: str) -> str:
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"the JWT secret must be at least {MIN_SECRET_LENGTH} characters")
    return secret


def issue_token(
    secret: str,
    *,
    subject: str,
    tenant_id: str,
    role: PersonRole,
    ttl_seconds: float,
    audience: str = "flowbus",
    issuer: str | None = None,
    now: datetime | None = None,
) -> str:
    """A signed token for `subject` of `tenant_id`, valid for `ttl_seconds`."""
    if role not in PERSON_ROLES:
        raise ValueError(f"role must be one of {', '.join(PERSON_ROLES)}, not {role!r}")
    if ttl_seconds <= 0:
        raise ValueError("a token needs a positive lifetime")
    issued_at = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": subject,
        "tenant": tenant_id,
        "role": role,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + timedelta(seconds=ttl_seconds),
    }
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, check_secret(secret), algorithm=ALGORITHM)


def decode_claims(token: str, secret: str, *, audience: str, issuer: str | None = None) -> TokenClaims:
    """The claims of a valid token; TokenRefused with the reason otherwise."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenRefused("the token is too long")
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
        if algorithm != ALGORITHM:  # PyJWT refuses it below too; this says why
            raise TokenRefused(f"alg {algorithm!r} is not accepted (HS256 only)")
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={"require": [*REQUIRED_CLAIMS, "aud", *(["iss"] if issuer else [])]},
        )
    except jwt.PyJWTError as error:
        raise TokenRefused(str(error)) from None
    subject, tenant_id, role = claims["sub"], claims["tenant"], claims["role"]
    if not isinstance(subject, str) or not subject.strip():
        raise TokenRefused("sub must be a non-empty string")
    if not isinstance(tenant_id, str) or not tenant_id.strip():
        raise TokenRefused("tenant must be a non-empty string")
    if role not in PERSON_ROLES:
        raise TokenRefused(f"role must be one of {', '.join(PERSON_ROLES)}")
    return TokenClaims(subject, tenant_id, cast(PersonRole, role))


@dataclass(frozen=True)
class _Standing:
    tenant_disabled: bool
    user_role: str | None  # None: the subject is not a user of the tenant
    user_revoked: bool


class JwtVerifier:
    """Turns a bearer JWT into a Principal (key id `jwt:<sub>`), or None when refused."""

    def __init__(
        self,
        engine: AsyncEngine,
        secret: str,
        *,
        audience: str = "flowbus",
        issuer: str | None = None,
        cache_seconds: float = 10.0,
    ) -> None:
        self._engine = engine
        self._secret = check_secret(secret)
        self._audience = audience
        self._issuer = issuer
        self._standing_cache: CredentialCache[tuple[str, str], _Standing] = CredentialCache(cache_seconds)

    def __repr__(self) -> str:  # never the secret
        return f"JwtVerifier(audience={self._audience!r}, issuer={self._issuer!r})"

    async def verify(self, token: str) -> Principal | None:
        try:
            claims = decode_claims(token, self._secret, audience=self._audience, issuer=self._issuer)
        except TokenRefused as refused:
            log.debug("JWT refused: %s", refused)
            return None
        standing = await self._standing(claims.tenant_id, claims.subject)
        if standing.tenant_disabled or standing.user_revoked:
            log.debug("JWT refused: tenant disabled or user revoked (%s)", claims.tenant_id)
            return None
        if standing.user_role is None:
            return Principal(claims.tenant_id, claims.role, f"jwt:{claims.subject}")
        role = claims.role if role_allows(standing.user_role, claims.role) else standing.user_role
        return Principal(claims.tenant_id, cast(PersonRole, role), f"jwt:{claims.subject}", claims.subject)

    async def _standing(self, tenant_id: str, subject: str) -> _Standing:
        cached = self._standing_cache.get((tenant_id, subject))
        if cached is not None:
            return cached
        async with self._engine.connect() as conn:
            disabled_at = (
                await conn.execute(sa.select(tenants.c.disabled_at).where(tenants.c.tenant_id == tenant_id))
            ).scalar_one_or_none()
            user = (
                await conn.execute(
                    sa.select(users.c.role, users.c.revoked_at).where(
                        users.c.tenant_id == tenant_id, users.c.user_id == subject
                    )
                )
            ).first()
        standing = _Standing(
            tenant_disabled=disabled_at is not None,
            user_role=None if user is None else user.role,
            user_revoked=user is not None and user.revoked_at is not None,
        )
        self._standing_cache.put((tenant_id, subject), standing)
        return standing
