"""Kafka as a client that knows nothing of flowbus sees it: hand-written JSON (or any bytes)
sent with a plain aiokafka producer, as kcat would, and topics read back with a plain consumer
(the dead letters, the execution events)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


class PlainProducer:
    def __init__(self, bootstrap: str) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, topic: str, value: dict[str, Any] | bytes, key: str | None = None) -> None:
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        await self._producer.send_and_wait(topic, raw, key=key.encode() if key else None)


@dataclass
class Seen:
    value: dict[str, Any]
    received_at: float  # time.monotonic() when this process read it


@dataclass
class TopicReader:
    """Reads a whole topic (every partition, from the start) into memory in the background."""

    bootstrap: str
    topic: str
    records: list[Seen] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        ready = asyncio.create_task(self._ready.wait())
        await asyncio.wait([ready, self._task], timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if not self._ready.is_set():
            ready.cancel()
            if self._task.done():
                self._task.result()  # its exception
            raise AssertionError(f"could not read {self.topic}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):  # cancelled, or what made it fail at start
                await self._task

    async def _run(self) -> None:
        # No group: every partition is assigned to this reader, from the earliest offset.
        consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=100, max_records=1000)
                if consumer.assignment():
                    self._ready.set()
                now = time.monotonic()
                for batch in batches.values():
                    for record in batch:
                        with contextlib.suppress(ValueError, TypeError):
                            self.on_record(Seen(json.loads(record.value), now))
        finally:
            await consumer.stop()

    def on_record(self, seen: Seen) -> None:
        self.records.append(seen)


@dataclass
class ExecutionEvents(TopicReader):
    """`<prefix>.execution-events`, with the first time each execution's completion was seen."""

    finished_at: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    by_execution: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def on_record(self, seen: Seen) -> None:
        value = seen.value
        execution_id = str(value.get("execution_id"))
        self.by_execution[execution_id].append(value)
        kind = str(value.get("event_type"))
        if kind in ("execution.completed", "execution.failed", "execution.cancelled"):
            self.statuses[execution_id] = kind.split(".")[1]
            self.finished_at.setdefault(execution_id, seen.received_at)


def dead_letters_about(reader: TopicReader, source_topic: str, marker: str) -> list[dict[str, Any]]:
    """Dead-letter records of `source_topic` whose original bytes contain `marker`."""
    return [
        seen.value
        for seen in list(reader.records)
        if seen.value.get("source_topic") == source_topic and marker in str(seen.value.get("payload_preview"))
    ]
