"""How the CLI reaches the orchestrator's HTTP API (prefix FLOWBUS_); options override them."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class CliSettings(BaseSettings):
    """Read from the environment; `--api-url` and `--api-key` on a command win over them."""

    model_config = SettingsConfigDict(env_prefix="FLOWBUS_", extra="ignore")

    api_url: str = Field(
        default="http://127.0.0.1:8300",
        description="base URL of the orchestrator's HTTP API that `flowbus workflows|run|executions` talk to",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="bearer credential for it: an API key (`flowbus apikeys create`) or a JWT; never printed",
    )
    api_timeout_seconds: float = Field(
        default=30.0, gt=0, description="how long one HTTP request may take before the CLI gives up (exit 4)"
    )
