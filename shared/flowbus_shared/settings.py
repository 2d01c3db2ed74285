"""Settings from the environment (prefix FLOWBUS_), one object for every service."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class FlowbusSettings(BaseSettings):
    """Every knob a flowbus process reads; the README's configuration table mirrors it."""

    model_config = SettingsConfigDict(env_prefix="FLOWBUS_", extra="ignore")

    bus: Literal["kafka", "memory"] = Field(
        default="kafka", description="kafka, or memory for the single-process embedded set-up"
    )
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:19092", description="Kafka brokers")
    kafka_client_id: str = Field(default="flowbus", description="client id prefix")
    kafka_instance_id: str | None = Field(
        default=None, description="static group membership id (group.instance.id) of this pod"
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="how the Kafka clients connect: plain, TLS, SASL, or SASL over TLS"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512", description="SASL mechanism (with a SASL protocol)"
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user (e.g. a Strimzi KafkaUser)")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password")
    kafka_ssl_ca_file: Path | None = Field(
        default=None, description="CA bundle for TLS to the brokers (unset: the system's)"
    )
    topic_prefix: str = Field(
        default="flowbus", pattern=r"^[A-Za-z0-9._-]+$", description="topics are named <prefix>.<name>"
    )
    topic_partitions: int = Field(default=6, ge=1, description="partitions of created topics")
    topic_replication_factor: int = Field(default=1, ge=1, description="replication of created topics")
    consumer_group_prefix: str = Field(
        default="flowbus", pattern=r"^[A-Za-z0-9._-]+$", description="consumer groups are <prefix>.<service>"
    )
    max_deliveries: int = Field(
        default=5, ge=1, description="attempts before a failing message goes to the dead-letter topic"
    )
    redelivery_backoff_seconds: float = Field(
        default=0.2, ge=0, description="first pause before redelivering a failed message (doubles)"
    )
    max_in_flight: int = Field(
        default=32, ge=1, description="messages a consumer handles at once (one key's messages stay in order)"
    )
    commit_interval_seconds: float = Field(
        default=0.1, ge=0, description="how often handled offsets are committed (0: after every message)"
    )
    database_url: str = Field(
        default="postgresql+asyncpg://flowbus@127.0.0.1:55432/flowbus",
        description="SQLAlchemy async URL: postgresql+asyncpg://... or sqlite+aiosqlite:///file.db",
    )
    database_pool_size: int = Field(
        default=32,
        ge=1,
        description="connections each process keeps open (PostgreSQL), as many as FLOWBUS_MAX_IN_FLIGHT; "
        "up to half as many more in a burst",
    )
    master_keys: SecretStr | None = Field(
        default=None,
        description="connection vault keys, `id:base64(32 bytes)` comma-separated; the first encrypts, "
        "all decrypt (rotation: put a new key first, run `flowbus connections rotate`)",
    )
    fault_injection: str | None = Field(
        default=None,
        description="tests only: `crash-after-append:N` or `crash-before-commit:N` SIGKILLs the "
        "orchestrator at its N-th handled message, at that point",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")

    def topic(self, suffix: str) -> str:
        return f"{self.topic_prefix}.{suffix}"

    def group(self, service: str) -> str:
        return f"{self.consumer_group_prefix}.{service}"
