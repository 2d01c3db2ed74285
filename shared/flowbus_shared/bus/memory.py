"""The in-process backend for the embedded set-up (`flowbus dev`, the demo, fast tests).

It keeps Kafka's delivery contract on a smaller scale: keyed partitions,
per-group committed offsets, one in-order consumer per (group, partition),
redelivery of a failed record, dead-lettering after `max_deliveries`. It is
not durable: what it holds is gone when the process ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import zlib
from collections.abc import Sequence

from flowbus_shared.bus.delivery import DeliveryPolicy, RawRecord
from flowbus_shared.bus.lanes import MAX_BATCH
from flowbus_shared.bus.port import BatchHandler, Handler, Subscription, as_specs
from flowbus_shared.bus.publishing import Publisher
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import DEAD_LETTER, TopicSpec


class _Topic:
    def __init__(self, name: str, partitions: int) -> None:
        self.name = name
        self.partitions: list[list[RawRecord]] = [[] for _ in range(partitions)]
        self.changed = asyncio.Condition()
        self._round_robin = itertools.cycle(range(partitions))

    def partition_for(self, key: str | None) -> int:
        if key is None:
            return next(self._round_robin)
        return zlib.crc32(key.encode()) % len(self.partitions)


STOP_GRACE_SECONDS = 10.0


class MemoryBus(Publisher):
    def __init__(self, settings: FlowbusSettings, *, partitions: int | None = None) -> None:
        self._settings = settings
        self._partitions = partitions or min(settings.topic_partitions, 4)
        self._topics: dict[str, _Topic] = {}
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._policy = DeliveryPolicy(
            dead_letter_topic=settings.topic(DEAD_LETTER.suffix),
            max_deliveries=settings.max_deliveries,
            backoff_seconds=settings.redelivery_backoff_seconds,
            publish_raw=self._send,
        )
        self._running = False

    def _topic(self, name: str) -> _Topic:
        if name not in self._topics:
            self._topics[name] = _Topic(name, self._partitions)
        return self._topics[name]

    def records(self, topic: str) -> list[RawRecord]:
        """Every record published to `topic`, partition by partition (for tests and the demo)."""
        return [record for partition in self._topic(topic).partitions for record in partition]

    def subscribe(
        self,
        specs: TopicSpec | Sequence[TopicSpec],
        *,
        group: str,
        handler: Handler,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        topics = {self._settings.topic(spec.suffix): spec for spec in as_specs(specs)}
        subscription = Subscription(topics=topics, group=group, handler=handler, batch_handler=batch_handler)
        self._subscriptions.append(subscription)
        if self._running:
            self._start_consumers(subscription)

    def _start_consumers(self, subscription: Subscription) -> None:
        # One in-order consumer per (topic, partition); one process owns them all.
        for topic in subscription.topics:
            for partition in range(self._partitions):
                self._tasks.append(
                    asyncio.create_task(
                        self._consume(subscription, topic, partition),
                        name=f"consume {topic}[{partition}] {subscription.group}",
                    )
                )

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        for subscription in self._subscriptions:
            self._start_consumers(subscription)

    async def stop_consuming(self) -> None:
        self._running = False
        for topic in self._topics.values():
            async with topic.changed:
                topic.changed.notify_all()  # idle consumers wake up and leave
        if self._tasks:
            # A consumer in the middle of a message finishes it (briefly bounded).
            await asyncio.wait(self._tasks, timeout=STOP_GRACE_SECONDS)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def stop(self) -> None:
        await self.stop_consuming()

    async def ready(self, within_seconds: float) -> str | None:
        return None  # it lives in this process: if the process answers, so does the bus

    async def _consume(self, subscription: Subscription, topic_name: str, partition: int) -> None:
        topic = self._topic(topic_name)
        log = topic.partitions[partition]
        offset = 0  # a new group starts at the earliest record, as on Kafka
        while self._running:
            async with topic.changed:
                while self._running and offset >= len(log):
                    await topic.changed.wait()
            if not self._running:
                return
            # What is waiting of the next record's key goes together, as Kafka's lanes batch it.
            batch = [log[offset]]
            while (
                subscription.batch_handler is not None
                and offset + len(batch) < len(log)
                and log[offset + len(batch)].key == batch[0].key
                and len(batch) < MAX_BATCH
            ):
                batch.append(log[offset + len(batch)])
            await self._policy.settle_many(subscription, batch)
            offset += len(batch)

    async def _send(self, topic_name: str, payload: bytes, key: str | None, headers: dict[str, str]) -> None:
        topic = self._topic(topic_name)
        partition = topic.partition_for(key)
        log = topic.partitions[partition]
        log.append(
            RawRecord(
                topic=topic_name,
                partition=partition,
                offset=len(log),
                key=key,
                value=payload,
                headers=dict(headers),
            )
        )
        async with topic.changed:
            topic.changed.notify_all()
