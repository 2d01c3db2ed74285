"""The governance service's settings (prefix FLOWBUS_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GovernanceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLOWBUS_", extra="ignore")

    governance_policy_file: Path | None = Field(
        default=None, description="the action policy (YAML) replacing the bundled `policy.yaml`"
    )
    governance_approval_ttl_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="how long an approval request waits for a decision before it expires",
    )
    governance_sweep_interval_seconds: float = Field(
        default=2.0, gt=0, description="how often due approvals are expired and undelivered decisions re-sent"
    )
    governance_http_enabled: bool = Field(default=True, description="serve the governance HTTP API")
    governance_http_host: str = Field(
        default="127.0.0.1", description="address of the HTTP API (0.0.0.0 in a pod)"
    )
    governance_http_port: int = Field(
        default=8500, ge=0, le=65535, description="port of the HTTP API (0: any free one)"
    )
