"""Produce -> consume through the flowbus wrapper and through raw aiokafka, same broker,
same guarantees: acks=all, idempotent producer, offsets committed only after the
handler, batched every 100 ms (and, for reference, raw aiokafka committing every message)."""

from __future__ import annotations

import asyncio
import operator
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from flowbus_shared.bus import Delivery, KafkaBus, ensure_topics
from flowbus_shared.schemas import TriggerEvent, encode
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import TRIGGERS
from tests.bench.stats import percentile

Send = Callable[[int], Awaitable[None]]


class Arrivals(dict[int, float]):
    """Arrival time per message number, with a wake-up for waiters."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def record(self, number: int) -> None:
        self[number] = time.perf_counter()
        self.changed.set()

    async def until(self, done: Callable[[], bool]) -> None:
        while not done():
            await self.changed.wait()
            self.changed.clear()


async def _measure(send: Send, arrived: Arrivals, sequential: int, burst: int) -> dict[str, float]:
    sent_at: dict[int, float] = {}
    for n in range(sequential):  # one in flight at a time: latency
        sent_at[n] = time.perf_counter()
        await send(n)
        await arrived.until(partial(operator.contains, arrived, n))
    latencies = [arrived[n] - sent_at[n] for n in range(sequential)]
    started = time.perf_counter()
    await asyncio.gather(*(send(sequential + n) for n in range(burst)))  # all at once: throughput
    await arrived.until(lambda: len(arrived) >= sequential + burst)
    elapsed = time.perf_counter() - started
    return {
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "msgs_per_s": burst / elapsed,
    }


async def through_wrapper(settings: FlowbusSettings, sequential: int, burst: int) -> dict[str, float]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(update={"topic_prefix": prefix, "consumer_group_prefix": prefix})
    await ensure_topics(settings, [settings.topic(TRIGGERS.suffix)])
    arrived = Arrivals()

    async def handle(message: TriggerEvent, _delivery: Delivery) -> None:
        arrived.record(int(message.event_type))

    bus = KafkaBus(settings, client_name="bench")
    bus.subscribe(TRIGGERS, group="bench", handler=handle)
    await bus.start()
    await asyncio.sleep(1.0)  # let the group settle before timing

    async def send(n: int) -> None:
        await bus.publish(TRIGGERS, TriggerEvent(event_type=str(n)), key=f"k{n % 16}")

    try:
        return await _measure(send, arrived, sequential, burst)
    finally:
        await bus.stop()


async def through_aiokafka(
    settings: FlowbusSettings, sequential: int, burst: int, *, commit_every_message: bool = False
) -> dict[str, float]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    topic = f"{prefix}.raw"
    await ensure_topics(settings.model_copy(update={"topic_prefix": prefix}), [topic])
    arrived = Arrivals()
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", enable_idempotence=True
    )
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=f"{prefix}.raw",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await producer.start()
    await consumer.start()

    async def consume() -> None:
        last_commit = time.perf_counter()
        async for record in consumer:
            message: Any = TRIGGERS.codec.decode(record.value)
            arrived.record(int(message.event_type))
            if commit_every_message or time.perf_counter() - last_commit >= 0.1:
                partition = TopicPartition(record.topic, record.partition)
                await consumer.commit({partition: OffsetAndMetadata(record.offset + 1, "")})
                last_commit = time.perf_counter()

    task = asyncio.create_task(consume())
    await asyncio.sleep(1.0)

    async def send(n: int) -> None:
        await producer.send_and_wait(
            topic, encode(TriggerEvent(event_type=str(n))), key=f"k{n % 16}".encode()
        )

    try:
        return await _measure(send, arrived, sequential, burst)
    finally:
        task.cancel()
        await consumer.stop()
        await producer.stop()
