"""The llm-gateway's settings (prefix FLOWBUS_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLOWBUS_", extra="ignore")

    llm_local_rules: bool = Field(
        default=False,
        description="answer nlu_analysis with the local rule-based NLU (labelled local-rules) when no "
        "provider is configured; on in `flowbus dev` and `flowbus demo`",
    )
    request_timeout_seconds: float = Field(default=120.0, gt=0, description="timeout of one provider call")
