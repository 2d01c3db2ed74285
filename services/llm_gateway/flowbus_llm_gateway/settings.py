"""The llm-gateway's settings (prefix FLOWBUS_)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    llm_http_enabled: bool = Field(default=True, description="serve the gateway's HTTP API")
    llm_http_host: str = Field(default="127.0.0.1", description="address of the HTTP API (0.0.0.0 in a pod)")
    llm_http_port: int = Field(
        default=8400, ge=0, le=65535, description="port of the HTTP API (0: any free one)"
    )
    llm_catalogue_file: Path | None = Field(
        default=None, description="a catalogue YAML replacing the bundled one (models, prices, quality)"
    )
    llm_model_overrides: dict[str, dict[str, Any] | None] = Field(
        default_factory=dict,
        description='JSON: catalogue entries merged over the catalogue, keyed "provider/model" '
        '(e.g. {"openai/gpt-4o-mini": {"prices": {"input": 0.1}}}; null removes a model)',
    )
    llm_reservation_timeout_seconds: float = Field(
        default=900.0,
        gt=0,
        description="a budget reservation older than this is released (its call died with its process)",
    )
