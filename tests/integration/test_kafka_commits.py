"""On Kafka, an offset is committed only after the handler returned: a message whose
handler failed is delivered again to the next consumer of the group, even after a restart."""

from __future__ import annotations

from flowbus_shared.bus import Delivery, KafkaBus, ensure_topics
from flowbus_shared.schemas import TriggerEvent
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import TRIGGERS
from tests.support.waiting import wait_until


async def test_failed_message_survives_a_consumer_restart(kafka_settings: FlowbusSettings) -> None:
    settings = kafka_settings.model_copy(update={"max_deliveries": 1000, "redelivery_backoff_seconds": 0.01})
    await ensure_topics(settings)
    failing_seen: list[int] = []

    async def failing(message: TriggerEvent, delivery: Delivery) -> None:
        failing_seen.append(delivery.attempt)
        raise RuntimeError("database unavailable")

    first = KafkaBus(settings, client_name="first")
    first.subscribe(TRIGGERS, group="workers", handler=failing)
    await first.start()
    await first.publish(TRIGGERS, TriggerEvent(event_type="must-not-be-lost"))
    await wait_until(lambda: len(failing_seen) >= 2, message="the failing deliveries")
    await first.stop()

    handled: list[TriggerEvent] = []

    async def healthy(message: TriggerEvent, _delivery: Delivery) -> None:
        handled.append(message)

    second = KafkaBus(settings, client_name="second")
    second.subscribe(TRIGGERS, group="workers", handler=healthy)
    await second.start()
    try:
        await wait_until(lambda: len(handled) == 1, within=30, message="the redelivered message")
        assert handled[0].event_type == "must-not-be-lost"
    finally:
        await second.stop()


async def test_the_producer_is_idempotent_and_waits_for_all_replicas(kafka_settings: FlowbusSettings) -> None:
    bus = KafkaBus(kafka_settings, client_name="producer")
    await bus.connect()
    try:
        # aiokafka keeps these private; the point is the producer really running, not our arguments.
        producer = bus._producer  # the one every publish goes through
        assert producer is not None
        assert producer._sender._acks == -1  # acks=all
        assert producer._txn_manager is not None  # only made when enable_idempotence is on
    finally:
        await bus.stop()


async def test_handled_messages_are_committed_and_not_delivered_again(
    kafka_settings: FlowbusSettings,
) -> None:
    await ensure_topics(kafka_settings)
    first_seen: list[str] = []

    async def first_handler(message: TriggerEvent, _delivery: Delivery) -> None:
        first_seen.append(message.event_type)

    first = KafkaBus(kafka_settings, client_name="first")
    first.subscribe(TRIGGERS, group="workers", handler=first_handler)
    await first.start()
    for n in range(5):
        await first.publish(TRIGGERS, TriggerEvent(event_type=f"m{n}"), key="k")
    await wait_until(lambda: len(first_seen) == 5, message="five messages")
    await first.stop()  # flushes the handled offsets

    second_seen: list[str] = []

    async def second_handler(message: TriggerEvent, _delivery: Delivery) -> None:
        second_seen.append(message.event_type)

    second = KafkaBus(kafka_settings, client_name="second")
    second.subscribe(TRIGGERS, group="workers", handler=second_handler)
    await second.start()
    try:
        await second.publish(TRIGGERS, TriggerEvent(event_type="marker"), key="k")
        await wait_until(lambda: "marker" in second_seen, message="the marker")
        assert second_seen == ["marker"]
    finally:
        await second.stop()
