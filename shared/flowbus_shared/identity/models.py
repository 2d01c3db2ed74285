"""The identity API's request and response bodies (they make its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flowbus_shared.auth import PersonRole, Role
from flowbus_shared.identity.records import EMAIL, TENANT_ID, USER_ID, Tenant, User, maybe_utc, utc


class TenantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=TENANT_ID, description="the tenant's id, used in every key and token")
    name: str = Field(default="", max_length=200, description="a display name (the id when empty)")


class TenantOut(BaseModel):
    tenant_id: str
    name: str
    status: Literal["active", "disabled"]
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        return cls(
            tenant_id=tenant.tenant_id,
            name=tenant.name,
            status=tenant.status,
            created_at=tenant.created_at,
            disabled_at=tenant.disabled_at,
        )


class TenantList(BaseModel):
    data: list[TenantOut]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str | None = Field(
        default=None, pattern=USER_ID, description="the id (a JWT's `sub`); made up when not given"
    )
    email: str = Field(pattern=EMAIL, max_length=320, description="unique in the tenant, any letter case")
    name: str = Field(default="", max_length=200)
    role: PersonRole = Field(description="the strongest role the user's keys and tokens can have")


class UserOut(BaseModel):
    user_id: str
    email: str
    name: str
    role: PersonRole
    status: Literal["active", "revoked"]
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            user_id=user.user_id,
            email=user.email,
            name=user.name,
            role=user.role,
            status=user.status,
            created_at=user.created_at,
            revoked_at=user.revoked_at,
        )


class UserRevoked(UserOut):
    revoked_keys: int = Field(description="how many of the user's keys were revoked with the user")


class UserList(BaseModel):
    data: list[UserOut]


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200, description="what the key is for")
    role: PersonRole = Field(
        description="no stronger than the caller's (or the user's) role; `service` keys are made "
        "with the CLI only"
    )
    user_id: str | None = Field(
        default=None, pattern=USER_ID, description="the user the key belongs to (revoked with them)"
    )


class ApiKeyOut(BaseModel):
    key_id: str
    name: str
    role: Role
    user_id: str | None
    status: Literal["active", "revoked"]
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> ApiKeyOut:
        return cls(
            key_id=row["key_id"],
            name=row["name"],
            role=row["role"],
            user_id=row["user_id"],
            status="active" if row["revoked_at"] is None else "revoked",
            created_at=utc(row["created_at"]),
            revoked_at=maybe_utc(row["revoked_at"]),
        )


class IssuedApiKey(ApiKeyOut):
    token: str = Field(description="the whole key (`fbk_<key id>_<secret>`): shown this once, never again")


class ApiKeyList(BaseModel):
    data: list[ApiKeyOut]


class ProblemError(BaseModel):
    message: str
    type: str
    code: str | None


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`), with an OpenAI-style `error`."""

    type: str
    title: str
    status: int
    detail: str
    error: ProblemError


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route for the problems it can answer with."""
    meaning = {
        401: "no, an unknown or a revoked credential",
        403: "the caller's role does not allow it",
        404: "not found in the caller's tenant",
        409: "it does not fit the current state (exists, revoked, disabled)",
    }
    return {status: {"model": Problem, "description": meaning[status]} for status in statuses}
