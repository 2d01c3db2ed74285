"""How the FLOWBUS_KAFKA_* login settings become the clients' options."""

from __future__ import annotations

import pytest
from faststream.security import SASLPlaintext, SASLScram512
from pydantic import SecretStr

from flowbus_shared.bus.security import broker_security, client_options
from flowbus_shared.settings import FlowbusSettings


def test_plaintext_needs_no_login() -> None:
    settings = FlowbusSettings()
    assert broker_security(settings) is None
    assert client_options(settings) == {"security_protocol": "PLAINTEXT"}


def test_scram_over_tls_gives_both_clients_the_same_login() -> None:
    settings = FlowbusSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="flowbus-executor",
        kafka_sasl_password=SecretStr("s3cret"),
    )
    security = broker_security(settings)
    assert isinstance(security, SASLScram512)
    assert (security.username, security.password, security.use_ssl) == ("flowbus-executor", "s3cret", True)
    options = client_options(settings)
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("flowbus-executor", "s3cret")
    assert options["ssl_context"] is not None


def test_plain_sasl_without_tls() -> None:
    settings = FlowbusSettings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="u",
        kafka_sasl_password=SecretStr("p"),
    )
    security = broker_security(settings)
    assert isinstance(security, SASLPlaintext)
    assert security.use_ssl is False
    assert "ssl_context" not in client_options(settings)


def test_sasl_without_credentials_is_refused_without_echoing_anything() -> None:
    settings = FlowbusSettings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="u")
    with pytest.raises(ValueError, match="FLOWBUS_KAFKA_SASL_PASSWORD"):
        broker_security(settings)


def test_the_password_never_shows_in_the_settings() -> None:
    settings = FlowbusSettings(kafka_sasl_password=SecretStr("do-not-print"))
    assert "do-not-print" not in repr(settings)
    assert "do-not-print" not in str(settings.model_dump())
