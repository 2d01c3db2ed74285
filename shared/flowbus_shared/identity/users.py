"""Users of a tenant: each has a role and may own API keys; JWTs whose `sub` is a user's id
stand for that user. Revoking a user revokes the user's keys in the same transaction."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_shared.auth import PERSON_ROLES, Conflict, NotFound, PersonRole, credentials_changed
from flowbus_shared.auth.api_keys import refuse_disabled_tenant
from flowbus_shared.auth.tables import api_keys, users
from flowbus_shared.identity.records import EMAIL, TENANT_ID, USER_ID, User, checked, maybe_utc, utc


def _user(row: Any) -> User:
    return User(
        row.tenant_id,
        row.user_id,
        row.email,
        row.name,
        row.role,
        utc(row.created_at),
        maybe_utc(row.revoked_at),
    )


def _one(tenant_id: str, user_id: str) -> sa.Select[Any]:
    return sa.select(users).where(users.c.tenant_id == tenant_id, users.c.user_id == user_id)


class Users:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self, tenant_id: str, *, email: str, role: PersonRole, name: str = "", user_id: str | None = None
    ) -> User:
        """A new user (the id is made up when not given); e-mails are unique per tenant, in
        any letter case."""
        checked(tenant_id, TENANT_ID, "tenant id")
        if role not in PERSON_ROLES:
            raise ValueError(f"a user's role must be one of {', '.join(PERSON_ROLES)}, not {role!r}")
        email = checked(email.strip().lower(), EMAIL, "e-mail address")
        user_id = checked(user_id, USER_ID, "user id") if user_id else f"u_{secrets.token_hex(6)}"
        user = User(tenant_id, user_id, email, name[:200], role, datetime.now(UTC), None)
        try:
            async with self._engine.begin() as conn:
                await refuse_disabled_tenant(conn, tenant_id)
                taken = await conn.execute(
                    sa.select(users.c.user_id).where(
                        users.c.tenant_id == tenant_id,
                        sa.or_(users.c.user_id == user_id, users.c.email == email),
                    )
                )
                if taken.first() is not None:
                    raise Conflict(f"tenant {tenant_id!r} has a user with id {user_id!r} or e-mail {email!r}")
                await conn.execute(
                    users.insert().values(
                        tenant_id=tenant_id,
                        user_id=user_id,
                        email=email,
                        name=user.name,
                        role=role,
                        created_at=user.created_at,
                    )
                )
        except sa.exc.IntegrityError:  # a concurrent create won the race
            raise Conflict(
                f"tenant {tenant_id!r} has a user with id {user_id!r} or e-mail {email!r}"
            ) from None
        return user

    async def get(self, tenant_id: str, user_id: str) -> User | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(_one(tenant_id, user_id))).first()
        return None if row is None else _user(row)

    async def list(self, tenant_id: str) -> list[User]:
        query = (
            sa.select(users)
            .where(users.c.tenant_id == tenant_id)
            .order_by(users.c.created_at, users.c.user_id)
        )
        async with self._engine.connect() as conn:
            return [_user(row) for row in await conn.execute(query)]

    async def revoke(self, tenant_id: str, user_id: str) -> tuple[User, int]:
        """Revoke the user and every key of theirs; returns the user and how many keys were revoked."""
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                users.update()
                .where(
                    users.c.tenant_id == tenant_id, users.c.user_id == user_id, users.c.revoked_at.is_(None)
                )
                .values(revoked_at=now)
            )
            row = (await conn.execute(_one(tenant_id, user_id))).first()
            if row is None:
                raise NotFound(f"tenant {tenant_id!r} has no user {user_id!r}")
            if not result.rowcount:
                raise Conflict(f"user {user_id!r} is revoked already")
            keys = await conn.execute(
                api_keys.update()
                .where(
                    api_keys.c.tenant_id == tenant_id,
                    api_keys.c.user_id == user_id,
                    api_keys.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
        credentials_changed()
        return _user(row), int(keys.rowcount)
