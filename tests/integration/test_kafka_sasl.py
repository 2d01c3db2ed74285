"""Kafka with a login: the local broker's second listener asks for SCRAM-SHA-512 (as a Strimzi
cluster does), and the bus and the admin client present FLOWBUS_KAFKA_SASL_* for real."""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr

from flowbus_shared.bus import Delivery, KafkaBus, ensure_topics
from flowbus_shared.schemas import TriggerEvent
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import TRIGGERS
from tests.support.infra import require_port
from tests.support.waiting import wait_until

# The test user deploy/local/kafka.sh creates on its SASL listener (loopback only).
SASL_BOOTSTRAP = os.environ.get("FLOWBUS_TEST_KAFKA_SASL", "127.0.0.1:19094")
USER, PASSWORD = "flowbus-test", "flowbus-test-password"


def sasl_settings(kafka_settings: FlowbusSettings, password: str) -> FlowbusSettings:
    host, port = SASL_BOOTSTRAP.rsplit(":", 1)
    require_port(host, int(port), "Kafka's SASL listener (restart it with `make kafka-down kafka-up`)")
    return kafka_settings.model_copy(
        update={
            "kafka_bootstrap_servers": SASL_BOOTSTRAP,
            "kafka_security_protocol": "SASL_PLAINTEXT",
            "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_sasl_username": USER,
            "kafka_sasl_password": SecretStr(password),
        }
    )


async def test_topics_publishing_and_consuming_with_a_scram_login(kafka_settings: FlowbusSettings) -> None:
    settings = sasl_settings(kafka_settings, PASSWORD)
    assert await ensure_topics(settings)  # the admin client logged in and created them
    received: list[TriggerEvent] = []

    async def handle(message: TriggerEvent, _delivery: Delivery) -> None:
        received.append(message)

    bus = KafkaBus(settings, client_name="sasl")
    bus.subscribe(TRIGGERS, group="sasl-readers", handler=handle)
    await bus.start()
    try:
        assert await bus.ready(5) is None
        await bus.publish(TRIGGERS, TriggerEvent(event_type="logged-in"))
        await wait_until(lambda: len(received) == 1, within=30, message="the message over SASL")
        assert received[0].event_type == "logged-in"
    finally:
        await bus.stop()


async def test_a_wrong_password_is_refused_and_not_repeated(kafka_settings: FlowbusSettings) -> None:
    settings = sasl_settings(kafka_settings, "not-the-password")
    with pytest.raises(Exception) as refused:  # noqa: PT011 - aiokafka's error type varies by stage
        await ensure_topics(settings)
    assert "not-the-password" not in str(refused.value)
