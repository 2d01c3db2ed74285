"""Redeliveries, dead letters and consumer lag, counted by the real delivery policy and sampler."""

from __future__ import annotations

from aiokafka import TopicPartition
from prometheus_client import REGISTRY

from flowbus_shared.bus.delivery import DeliveryPolicy, RawRecord
from flowbus_shared.bus.port import Delivery, RejectMessage, Subscription
from flowbus_shared.metrics import ConsumerLag
from flowbus_shared.schemas import StepResult, encode
from flowbus_shared.topics import STEP_RESULTS

TOPIC = "metrics-test.step-results"
GROUP = "metrics-test-group"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def result_record(offset: int, value: bytes | None = None) -> RawRecord:
    result = StepResult(
        message_id=f"result:{offset}",
        execution_id="ex-1",
        step_id="s1",
        attempt=1,
        status="succeeded",
        executed_by="test",
    )
    return RawRecord(TOPIC, 0, offset, "ex-1", value if value is not None else encode(result), {})


def policy(published: list[str]) -> DeliveryPolicy:
    async def publish_raw(topic: str, _payload: bytes, _key: str | None, _headers: dict[str, str]) -> None:
        published.append(topic)

    return DeliveryPolicy(
        dead_letter_topic="metrics-test.dead-letters",
        max_deliveries=3,
        backoff_seconds=0.0,
        publish_raw=publish_raw,
    )


async def test_a_failing_handler_counts_each_redelivery_then_one_dead_letter() -> None:
    async def failing(_message: object, _delivery: Delivery) -> None:
        raise RuntimeError("downstream is down")

    subscription = Subscription(topics={TOPIC: STEP_RESULTS}, group=GROUP, handler=failing)
    redeliveries = sample("flowbus_redeliveries_total", topic=TOPIC, group=GROUP)
    dead = sample("flowbus_dead_letters_total", topic=TOPIC, reason="handler-failed")
    published: list[str] = []

    deliveries = await policy(published).settle(subscription, result_record(1))

    assert deliveries == 3
    assert published == ["metrics-test.dead-letters"]
    assert sample("flowbus_redeliveries_total", topic=TOPIC, group=GROUP) == redeliveries + 2
    assert sample("flowbus_dead_letters_total", topic=TOPIC, reason="handler-failed") == dead + 1


async def test_dead_letters_are_counted_by_reason() -> None:
    async def rejecting(_message: object, _delivery: Delivery) -> None:
        raise RejectMessage("not for us")

    subscription = Subscription(topics={TOPIC: STEP_RESULTS}, group=GROUP, handler=rejecting)
    undecodable = sample("flowbus_dead_letters_total", topic=TOPIC, reason="undecodable")
    rejected = sample("flowbus_dead_letters_total", topic=TOPIC, reason="rejected")
    redeliveries = sample("flowbus_redeliveries_total", topic=TOPIC, group=GROUP)
    delivery = policy([])

    assert await delivery.settle(subscription, result_record(2, value=b"not json")) == 1
    assert await delivery.settle(subscription, result_record(3)) == 1

    assert sample("flowbus_dead_letters_total", topic=TOPIC, reason="undecodable") == undecodable + 1
    assert sample("flowbus_dead_letters_total", topic=TOPIC, reason="rejected") == rejected + 1
    assert sample("flowbus_redeliveries_total", topic=TOPIC, group=GROUP) == redeliveries


class Consumer:
    """What aiokafka's consumer tells about its partitions (a stand-in for a broker)."""

    def __init__(self, positions: dict[TopicPartition, int], highwaters: dict[TopicPartition, int]) -> None:
        self.positions = positions
        self.highwaters = highwaters

    def assignment(self) -> set[TopicPartition]:
        return set(self.positions)

    def highwater(self, partition: TopicPartition) -> int | None:
        return self.highwaters.get(partition)

    async def position(self, partition: TopicPartition) -> int:
        return self.positions[partition]


async def test_consumer_lag_sums_partitions_per_group_and_topic_and_forgets_revoked_ones() -> None:
    first, second, fresh = (
        TopicPartition("lag.orders", 0),
        TopicPartition("lag.orders", 1),
        TopicPartition("lag.events", 0),
    )
    consumer = Consumer({first: 10, second: 5, fresh: 0}, {first: 15, second: 5})
    lag = ConsumerLag()
    lag.watch(consumer, "lag-group")
    lag.watch(consumer, "lag-group")  # every message says so; one consumer still

    await lag.sample()
    assert sample("flowbus_consumer_lag", group="lag-group", topic="lag.orders") == 5
    # Nothing fetched from lag.events yet: its lag is unknown, not reported as 0.
    assert (
        REGISTRY.get_sample_value("flowbus_consumer_lag", {"group": "lag-group", "topic": "lag.events"})
        is None
    )

    consumer.highwaters[fresh] = 7
    consumer.positions = {fresh: 3}  # lag.orders was revoked
    await lag.sample()
    assert sample("flowbus_consumer_lag", group="lag-group", topic="lag.events") == 4
    assert (
        REGISTRY.get_sample_value("flowbus_consumer_lag", {"group": "lag-group", "topic": "lag.orders"})
        is None
    )

    await lag.stop()
    assert (
        REGISTRY.get_sample_value("flowbus_consumer_lag", {"group": "lag-group", "topic": "lag.events"})
        is None
    )
