"""Identity settings (prefix FLOWBUS_): JWTs, the platform tenant, and how long checked
credentials are trusted."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_shared.auth import JwtVerifier
from flowbus_shared.auth.jwt_tokens import MIN_SECRET_LENGTH


class IdentitySettings(BaseSettings):
    # hide_input_in_errors: a refused secret is never printed back
    model_config = SettingsConfigDict(env_prefix="FLOWBUS_", extra="ignore", hide_input_in_errors=True)

    jwt_secret: SecretStr | None = Field(
        default=None,
        description=f"HS256 secret JWTs are signed with (at least {MIN_SECRET_LENGTH} characters); "
        "unset: JWTs are refused and only API keys authenticate",
    )
    jwt_audience: str = Field(
        default="flowbus", min_length=1, description="the `aud` claim every JWT must carry"
    )
    jwt_issuer: str | None = Field(
        default=None, description="the `iss` claim every JWT must carry; unset: `iss` is not checked"
    )
    platform_tenant: str = Field(
        default="platform",
        min_length=1,
        description="the tenant whose admins create, list and disable tenants (it cannot be disabled)",
    )
    credential_cache_seconds: float = Field(
        default=10.0,
        ge=0,
        description="how long a checked API key or JWT subject is trusted before the database is asked "
        "again: a revocation made by another process (the CLI, another service) holds within it",
    )

    @field_validator("jwt_secret", "jwt_issuer", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"FLOWBUS_JWT_SECRET must be at least {MIN_SECRET_LENGTH} characters")
        return value


def jwt_verifier(engine: AsyncEngine, settings: IdentitySettings) -> JwtVerifier | None:
    """The verifier of bearer JWTs, or None when no secret is configured (JWTs refused)."""
    if settings.jwt_secret is None:
        return None
    return JwtVerifier(
        engine,
        settings.jwt_secret.get_secret_value(),
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        cache_seconds=settings.credential_cache_seconds,
    )
