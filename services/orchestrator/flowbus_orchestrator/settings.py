"""The orchestrator service's settings (prefix FLOWBUS_)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class OrchestratorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLOWBUS_", extra="ignore")

    orchestrator_http_enabled: bool = Field(
        default=True, description="serve the orchestrator's HTTP API (workflows, executions, triggers)"
    )
    orchestrator_http_host: str = Field(
        default="127.0.0.1", description="address of the HTTP API (0.0.0.0 in a pod)"
    )
    orchestrator_http_port: int = Field(
        default=8300, ge=0, le=65535, description="port of the HTTP API (0: any free one)"
    )
    # The same settings the executor reads: one gateway, one service key for both.
    llm_gateway_url: str | None = Field(
        default=None,
        description="the llm-gateway's OpenAI-compatible API (e.g. http://127.0.0.1:8400/v1), which "
        "POST /v1/workflows/generate asks for a plan",
    )
    llm_gateway_api_key: SecretStr | None = Field(
        default=None, description="a `service` API key for the llm-gateway (acts for the caller's tenant)"
    )
    orchestrator_generation_model: str = Field(
        default="auto", max_length=200, description="the model asked to plan generated workflows"
    )
    orchestrator_generation_timeout_seconds: float = Field(
        default=120.0, gt=0, description="how long generation waits for the llm-gateway"
    )
