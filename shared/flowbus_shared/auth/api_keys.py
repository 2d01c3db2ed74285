"""API keys: `fbk_<key id>_<secret>`, shown once at creation, stored as the SHA-256 of the secret.

The secret is 32 random bytes, so a plain hash is enough (no password stretching needed:
nothing to guess). Lookup is by key id and the hash is compared in constant time.
Successful look-ups are cached briefly (`cache_seconds`) so a busy API does not query the
database on every request; a revocation therefore takes effect within that time.

Roles, strongest first: admin (everything in its tenant), operator (run things: call
models, start executions), viewer (read only); `service` keys are for flowbus's own
services, which act on behalf of the tenant a request names.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

Role = Literal["admin", "operator", "viewer", "service"]
ROLES: tuple[Role, ...] = get_args(Role)
_RANK = {"viewer": 0, "operator": 1, "admin": 2, "service": 2}
PREFIX = "fbk"

api_keys = sa.Table(
    "api_keys",
    sa.MetaData(),
    sa.Column("key_id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)


def role_allows(role: str, needed: Role) -> bool:
    """Whether `role` may do what `needed` may (admin > operator > viewer; service acts as admin)."""
    return _RANK.get(role, -1) >= _RANK[needed]


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    role: Role
    key_id: str


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    tenant_id: str
    role: Role
    name: str
    token: str  # the only time the whole key exists outside the caller's hands

    def __repr__(self) -> str:
        return f"IssuedKey(key_id={self.key_id!r}, tenant_id={self.tenant_id!r}, role={self.role!r})"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(token: str) -> tuple[str, str] | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class ApiKeys:
    def __init__(self, engine: AsyncEngine, *, cache_seconds: float = 10.0) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal]] = {}

    async def create(self, tenant_id: str, role: Role, name: str = "") -> IssuedKey:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not tenant_id.strip():
            raise ValueError("a key needs a tenant")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32).replace("_", "-")
        async with self._engine.begin() as conn:
            await conn.execute(
                api_keys.insert().values(
                    key_id=key_id,
                    tenant_id=tenant_id,
                    role=role,
                    name=name[:200],
                    secret_sha256=_digest(secret),
                    created_at=datetime.now(UTC),
                )
            )
        return IssuedKey(key_id, tenant_id, role, name, f"{PREFIX}_{key_id}_{secret}")

    async def authenticate(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked key; None otherwise."""
        parts = _split(token)
        if parts is None:
            return None
        key_id, secret = parts
        digest = _digest(secret)
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id))).first()
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_sha256, digest):
            return None
        principal = Principal(row.tenant_id, row.role, row.key_id)
        self._cache[digest] = (time.monotonic() + self._cache_seconds, principal)
        return principal

    async def list(self, tenant_id: str) -> list[dict[str, Any]]:
        """The tenant's keys, without any secret."""
        columns = [c for c in api_keys.c if c.name != "secret_sha256"]
        query = sa.select(*columns).where(api_keys.c.tenant_id == tenant_id).order_by(api_keys.c.created_at)
        async with self._engine.connect() as conn:
            return [dict(row._mapping) for row in await conn.execute(query)]

    async def revoke(self, tenant_id: str, key_id: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                api_keys.update()
                .where(api_keys.c.tenant_id == tenant_id, api_keys.c.key_id == key_id)
                .where(api_keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
        self._cache = {d: v for d, v in self._cache.items() if v[1].key_id != key_id}
        return bool(result.rowcount)
