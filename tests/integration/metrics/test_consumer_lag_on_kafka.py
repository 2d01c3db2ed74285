"""On Kafka, `flowbus_consumer_lag` follows a consumer group that falls behind: it rises while
the handler is stuck with a backlog on the broker, falls to 0 once the backlog is handled, and
the series goes away when the consumer stops."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from flowbus_shared.bus import Delivery, KafkaBus, ensure_topics
from flowbus_shared.schemas import TriggerEvent
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import TRIGGERS
from tests.support.waiting import wait_until

BACKLOG = 20
GROUP = "lagging-workers"


async def test_consumer_lag_rises_with_a_backlog_and_falls_when_it_is_handled(
    kafka_settings: FlowbusSettings,
) -> None:
    # Two in flight at most: a stuck handler stops the consumer taking more from the broker.
    settings = kafka_settings.model_copy(update={"max_in_flight": 2})
    await ensure_topics(settings)
    topic = settings.topic(TRIGGERS.suffix)
    labels = {"group": GROUP, "topic": topic}

    def lag() -> float | None:
        return REGISTRY.get_sample_value("flowbus_consumer_lag", labels)

    producer = KafkaBus(settings, client_name="lag-producer")
    await producer.connect()
    try:
        for n in range(BACKLOG):
            await producer.publish(TRIGGERS, TriggerEvent(event_type=f"backlog-{n}"), key="one-partition")
    finally:
        await producer.stop()

    release = asyncio.Event()
    handled: list[str] = []

    async def stuck(message: TriggerEvent, _delivery: Delivery) -> None:
        await release.wait()
        handled.append(message.event_type)

    consumer = KafkaBus(settings, client_name="lag-consumer")
    consumer.subscribe(TRIGGERS, group=GROUP, handler=stuck)
    await consumer.start()
    try:
        await wait_until(lambda: (lag() or 0) >= BACKLOG // 2, within=60, message="the lag of the backlog")
        assert (lag() or 0) <= BACKLOG
        release.set()
        await wait_until(lambda: len(handled) == BACKLOG, within=60, message="the backlog handled")
        await wait_until(lambda: lag() == 0, within=60, message="the lag back to 0")
    finally:
        release.set()
        await consumer.stop()
    assert lag() is None  # a stopped consumer reports nothing
