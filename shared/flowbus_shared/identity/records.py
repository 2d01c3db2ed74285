"""Tenants and users as the repositories return them, and the shapes their names must have."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from flowbus_shared.auth import PersonRole

TENANT_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$"
# Wide enough for the subjects identity providers use (`auth0|abc`, an e-mail address).
USER_ID = r"^[A-Za-z0-9][A-Za-z0-9_.@|:+-]{0,199}$"
EMAIL = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive times (stored as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def maybe_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else utc(moment)


def checked(value: str, pattern: str, what: str) -> str:
    if not re.fullmatch(pattern, value):
        raise ValueError(f"{what} {value!r} is not valid (expected {pattern})")
    return value


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    name: str
    created_at: datetime
    disabled_at: datetime | None

    @property
    def status(self) -> Literal["active", "disabled"]:
        return "active" if self.disabled_at is None else "disabled"


@dataclass(frozen=True)
class User:
    tenant_id: str
    user_id: str
    email: str
    name: str
    role: PersonRole
    created_at: datetime
    revoked_at: datetime | None

    @property
    def status(self) -> Literal["active", "revoked"]:
        return "active" if self.revoked_at is None else "revoked"
