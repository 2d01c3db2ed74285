"""API keys: `fbk_<key id>_<secret>`, shown once at creation, stored as the SHA-256 of the secret.

The secret is 32 random bytes, so a plain hash is enough (no password stretching needed:
nothing to guess). Lookup is by key id and the hash is compared in constant time.
Successful look-ups are cached briefly (`cache_seconds`) so a busy API does not query the
database on every request; a revocation made in this process holds at once, one made
elsewhere (another service, the CLI) within that time.

Roles, strongest first: admin (everything in its tenant), operator (run things: call
models, start executions), viewer (read only); `service` keys are for flowbus's own
services, which act on behalf of the tenant a request names.

A key may belong to a user of its tenant: it is never stronger than the user, and revoking
the user revokes it. A key stops working when its tenant is disabled.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flowbus_shared.auth.errors import Conflict, Forbidden, NotFound
from flowbus_shared.auth.freshness import CredentialCache, credentials_changed
from flowbus_shared.auth.tables import api_keys, tenants, users

Role = Literal["admin", "operator", "viewer", "service"]
ROLES: tuple[Role, ...] = get_args(Role)
# The roles a person (a user, a JWT) can have: `service` is for flowbus's own services only.
PersonRole = Literal["admin", "operator", "viewer"]
PERSON_ROLES: tuple[PersonRole, ...] = get_args(PersonRole)
_RANK = {"viewer": 0, "operator": 1, "admin": 2, "service": 2}
PREFIX = "fbk"

__all__ = [
    "PERSON_ROLES",
    "PREFIX",
    "ROLES",
    "ApiKeys",
    "IssuedKey",
    "PersonRole",
    "Principal",
    "Role",
    "api_keys",
    "refuse_disabled_tenant",
    "role_allows",
]


def role_allows(role: str, needed: Role) -> bool:
    """Whether `role` may do what `needed` may (admin > operator > viewer; service acts as admin)."""
    return _RANK.get(role, -1) >= _RANK[needed]


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    role: Role
    key_id: str  # `jwt:<subject>` for a JWT
    user_id: str | None = None  # the flowbus user behind the key or token, when there is one


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    tenant_id: str
    role: Role
    name: str
    token: str  # the only time the whole key exists outside the caller's hands
    user_id: str | None = None

    def __repr__(self) -> str:
        return f"IssuedKey(key_id={self.key_id!r}, tenant_id={self.tenant_id!r}, role={self.role!r})"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(token: str) -> tuple[str, str] | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


async def refuse_disabled_tenant(conn: AsyncConnection, tenant_id: str) -> None:
    """Raise Conflict when `tenant_id` is registered and disabled (unregistered tenants are fine)."""
    query = sa.select(tenants.c.disabled_at).where(tenants.c.tenant_id == tenant_id)
    disabled_at = (await conn.execute(query)).scalar_one_or_none()
    if disabled_at is not None:
        raise Conflict(f"tenant {tenant_id!r} is disabled")


async def _check_owner(conn: AsyncConnection, tenant_id: str, user_id: str, role: Role) -> None:
    query = sa.select(users.c.role, users.c.revoked_at).where(
        users.c.tenant_id == tenant_id, users.c.user_id == user_id
    )
    owner = (await conn.execute(query)).first()
    if owner is None:
        raise NotFound(f"tenant {tenant_id!r} has no user {user_id!r}")
    if owner.revoked_at is not None:
        raise Conflict(f"user {user_id!r} is revoked")
    if role == "service" or not role_allows(owner.role, role):
        raise Forbidden(f"a key of user {user_id!r} cannot be {role}: the user is {owner.role}")


class ApiKeys:
    def __init__(self, engine: AsyncEngine, *, cache_seconds: float = 10.0) -> None:
        self._engine = engine
        self._cache: CredentialCache[str, Principal] = CredentialCache(cache_seconds)

    async def create(
        self, tenant_id: str, role: Role, name: str = "", *, user_id: str | None = None
    ) -> IssuedKey:
        """A new key; refused for a disabled tenant, and for a user that is unknown, revoked
        or weaker than `role`."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not tenant_id.strip():
            raise ValueError("a key needs a tenant")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32).replace("_", "-")
        async with self._engine.begin() as conn:
            await refuse_disabled_tenant(conn, tenant_id)
            if user_id is not None:
                await _check_owner(conn, tenant_id, user_id, role)
            await conn.execute(
                api_keys.insert().values(
                    key_id=key_id,
                    tenant_id=tenant_id,
                    role=role,
                    name=name[:200],
                    secret_sha256=_digest(secret),
                    created_at=datetime.now(UTC),
                    user_id=user_id,
                )
            )
        return IssuedKey(key_id, tenant_id, role, name, f"{PREFIX}_{key_id}_{secret}", user_id)

    async def authenticate(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked key of an enabled tenant (and an unrevoked
        user, if it has one); None otherwise."""
        parts = _split(token)
        if parts is None:
            return None
        key_id, secret = parts
        digest = _digest(secret)
        cached = self._cache.get(digest)
        if cached is not None:
            return cached
        owner = sa.and_(users.c.tenant_id == api_keys.c.tenant_id, users.c.user_id == api_keys.c.user_id)
        query = (
            sa.select(
                api_keys,
                tenants.c.disabled_at.label("tenant_disabled_at"),
                users.c.revoked_at.label("user_revoked_at"),
            )
            .select_from(
                api_keys.outerjoin(tenants, tenants.c.tenant_id == api_keys.c.tenant_id).outerjoin(
                    users, owner
                )
            )
            .where(api_keys.c.key_id == key_id)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None or not hmac.compare_digest(row.secret_sha256, digest):
            return None
        if any(
            moment is not None for moment in (row.revoked_at, row.tenant_disabled_at, row.user_revoked_at)
        ):
            return None
        principal = Principal(row.tenant_id, row.role, row.key_id, row.user_id)
        self._cache.put(digest, principal)
        return principal

    async def list(self, tenant_id: str, *, user_id: str | None = None) -> list[dict[str, Any]]:
        """The tenant's keys (or one user's), without any secret."""
        columns = [c for c in api_keys.c if c.name != "secret_sha256"]
        query = sa.select(*columns).where(api_keys.c.tenant_id == tenant_id)
        if user_id is not None:
            query = query.where(api_keys.c.user_id == user_id)
        async with self._engine.connect() as conn:
            rows = await conn.execute(query.order_by(api_keys.c.created_at, api_keys.c.key_id))
            return [dict(row._mapping) for row in rows]

    async def get(self, tenant_id: str, key_id: str) -> dict[str, Any] | None:
        """One key of the tenant, without its secret; None for an unknown or another tenant's key."""
        columns = [c for c in api_keys.c if c.name != "secret_sha256"]
        query = sa.select(*columns).where(api_keys.c.tenant_id == tenant_id, api_keys.c.key_id == key_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else dict(row._mapping)

    async def revoke(self, tenant_id: str, key_id: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                api_keys.update()
                .where(api_keys.c.tenant_id == tenant_id, api_keys.c.key_id == key_id)
                .where(api_keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
        credentials_changed()
        return bool(result.rowcount)
