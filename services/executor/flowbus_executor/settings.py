"""The executor's settings (prefix FLOWBUS_): every remote service's base URL, so the same
code talks to the real service or to a local test double, the SSRF allow-list of
api_call, and where its HTTP API (connections) is served. (The vault's master keys are
shared settings: FLOWBUS_MASTER_KEYS.)"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ExecutorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLOWBUS_", extra="ignore")

    http_timeout_seconds: float = Field(default=30.0, gt=0, description="default timeout of outbound HTTP")
    slack_api_url: str = Field(default="https://slack.com/api", description="Slack Web API")
    asana_api_url: str = Field(default="https://app.asana.com/api/1.0", description="Asana REST API")
    notion_api_url: str = Field(default="https://api.notion.com/v1", description="Notion API")
    notion_version: str = Field(default="2022-06-28", description="Notion-Version header")
    gmail_api_url: str = Field(default="https://gmail.googleapis.com/gmail/v1", description="Gmail REST API")
    hubspot_api_url: str = Field(default="https://api.hubapi.com", description="HubSpot API")
    salesforce_api_version: str = Field(
        default="v60.0", description="Salesforce REST version (the instance URL comes from the connection)"
    )
    llm_gateway_url: str | None = Field(
        default=None,
        description="the llm-gateway's OpenAI-compatible API (e.g. http://127.0.0.1:8400/v1), for steps that "
        "ask a model (knowledge summaries, project briefs, agents)",
    )
    llm_gateway_api_key: SecretStr | None = Field(
        default=None, description="a `service` API key for the llm-gateway (acts for each step's tenant)"
    )
    governance_url: str | None = Field(
        default=None,
        description="the governance service (e.g. http://127.0.0.1:8500), which every agent step's tool "
        "call is checked with; agents refuse to run without it",
    )
    governance_api_key: SecretStr | None = Field(
        default=None, description="a `service` API key for governance (acts for each step's tenant)"
    )
    api_call_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="hosts or CIDRs api_call may reach although private, loopback or link-local (SSRF guard)",
    )
    executor_http_enabled: bool = Field(
        default=True, description="serve the executor's HTTP API (connections)"
    )
    executor_http_host: str = Field(
        default="127.0.0.1", description="address of the HTTP API (0.0.0.0 in a pod)"
    )
    executor_http_port: int = Field(
        default=8600, ge=0, le=65535, description="port of the HTTP API (0: any free one)"
    )
