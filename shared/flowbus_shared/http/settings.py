"""Settings every service's HTTP API reads (prefix FLOWBUS_): CORS, body size, rate limits."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class HttpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLOWBUS_", extra="ignore")

    api_cors_origins: list[str] = Field(
        default_factory=list,
        description='JSON list of browser origins allowed to call the HTTP APIs, e.g. ["https://ops.example.com"] '
        '(`["*"]`: any); empty: no CORS headers, browsers on other origins are refused',
    )
    api_max_body_bytes: int = Field(
        default=MIB,
        ge=0,
        description="largest request body an HTTP API accepts (bigger ones get 413, by Content-Length or as "
        "they stream in)",
    )
    api_rate_limit_per_second: float = Field(
        default=50.0,
        ge=0,
        description="requests per second each API key or token may make to one service (a token bucket "
        "per process; `service` keys are exempt; 0: no limit)",
    )
    api_rate_limit_burst: int = Field(
        default=100, ge=1, description="requests a key may make at once before the per-second rate applies"
    )

    @field_validator("api_cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin == "*":
                continue
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
                raise ValueError(f"a CORS origin is scheme://host[:port] with no path, not {origin!r}")
        return origins
