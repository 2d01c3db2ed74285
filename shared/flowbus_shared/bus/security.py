"""How flowbus's Kafka clients log in: plaintext, TLS, or SASL (PLAIN, SCRAM) with or without TLS,
from the FLOWBUS_KAFKA_* settings. One mapping for the FastStream broker and the admin client,
so producers, consumers and topic creation always present the same credentials."""

from __future__ import annotations

import ssl
from typing import Any

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from flowbus_shared.settings import FlowbusSettings

_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def _tls_context(settings: FlowbusSettings) -> ssl.SSLContext | None:
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    ca_file = str(settings.kafka_ssl_ca_file) if settings.kafka_ssl_ca_file else None
    return ssl.create_default_context(cafile=ca_file)


def _credentials(settings: FlowbusSettings) -> tuple[str, str]:
    if not settings.kafka_sasl_username or settings.kafka_sasl_password is None:
        raise ValueError(
            f"FLOWBUS_KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol} needs "
            "FLOWBUS_KAFKA_SASL_USERNAME and FLOWBUS_KAFKA_SASL_PASSWORD"
        )
    return settings.kafka_sasl_username, settings.kafka_sasl_password.get_secret_value()


def broker_security(settings: FlowbusSettings) -> BaseSecurity | None:
    """The FastStream `security=` of the configured protocol (None: plaintext)."""
    protocol = settings.kafka_security_protocol
    context = _tls_context(settings)
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    username, password = _credentials(settings)
    return _SASL[settings.kafka_sasl_mechanism](
        username, password, ssl_context=context, use_ssl=protocol == "SASL_SSL"
    )


def client_options(settings: FlowbusSettings) -> dict[str, Any]:
    """The same as keyword arguments of aiokafka's clients (the admin client)."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    context = _tls_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if protocol.startswith("SASL"):
        username, password = _credentials(settings)
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=username,
            sasl_plain_password=password,
        )
    return options
