"""Consumer lag of the Kafka backend: for each consumer this process runs, the records on the
broker it has not fetched yet (high watermark - position), summed per consumer group and topic
over the partitions assigned to it here, sampled every few seconds into `flowbus_consumer_lag`.

Both numbers are local to the consumer (the high watermark arrives with every fetch answer), so
a sample costs no broker request. Each replica reports its own partitions: sum by group and
topic across replicas for the group's lag. Series of partitions this process no longer owns are
removed, so a rebalance leaves no stale lag behind.
"""

from __future__ import annotations

import logging
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError

from flowbus_shared.metrics.definitions import CONSUMER_LAG
from flowbus_shared.periodic import Periodic

log = logging.getLogger("flowbus.metrics")

SAMPLE_EVERY_SECONDS = 5.0


class LagSource(Protocol):
    """What lag needs of a consumer (aiokafka's AIOKafkaConsumer has it)."""

    def assignment(self) -> set[TopicPartition]: ...

    def highwater(self, partition: TopicPartition) -> int | None: ...

    async def position(self, partition: TopicPartition) -> int: ...


class ConsumerLag:
    def __init__(self, every_seconds: float = SAMPLE_EVERY_SECONDS) -> None:
        self._consumers: dict[int, tuple[LagSource, str]] = {}
        self._reported: set[tuple[str, str]] = set()
        self._periodic = Periodic(self.sample, every_seconds, name="consumer-lag")

    def watch(self, consumer: AIOKafkaConsumer | LagSource, group: str) -> None:
        """Sample `consumer` (of `group`) from now on; cheap enough to call for every message."""
        self._consumers.setdefault(id(consumer), (consumer, group))

    async def sample(self) -> None:
        lag: dict[tuple[str, str], int] = {}
        for consumer, group in list(self._consumers.values()):
            for partition in consumer.assignment():
                highwater = consumer.highwater(partition)
                if highwater is None:  # nothing fetched from it yet: unknown, not zero
                    continue
                try:
                    position = await consumer.position(partition)
                except IllegalStateError:  # revoked between assignment() and now
                    continue
                behind = max(highwater - position, 0)
                key = (group, partition.topic)
                lag[key] = lag.get(key, 0) + behind
        for group, topic in self._reported - lag.keys():
            CONSUMER_LAG.remove(group, topic)
        for (group, topic), behind in lag.items():
            CONSUMER_LAG.labels(group, topic).set(behind)
        self._reported = set(lag)

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
        for group, topic in self._reported:
            CONSUMER_LAG.remove(group, topic)
        self._reported = set()
        self._consumers.clear()
