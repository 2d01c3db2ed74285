"""Offset commits for the Kafka backend, batched but never early.

An offset is committed only after the handler of that message returned, as
an explicit (partition -> next offset) map: committing "whatever was
consumed" could pass a message still being handled. Handled offsets are
committed every `interval` seconds, when a partition is revoked, and on stop.
A crash between handling and committing redelivers a few handled messages;
every flowbus consumer dedupes by message id, so that costs a lookup, not a
duplicate effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import OffsetAndMetadata

log = logging.getLogger("flowbus.bus")


class OffsetCommitter:
    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._pending: dict[AIOKafkaConsumer, dict[TopicPartition, int]] = {}
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def handled(self, consumer: AIOKafkaConsumer, topic: str, partition: int, offset: int) -> None:
        self._pending.setdefault(consumer, {})[TopicPartition(topic, partition)] = offset + 1
        if self._interval <= 0:
            await self.flush()

    async def flush(self, partitions: set[TopicPartition] | None = None) -> None:
        async with self._lock:
            for consumer, pending in list(self._pending.items()):
                chosen = {
                    tp: offset for tp, offset in pending.items() if partitions is None or tp in partitions
                }
                if not chosen:
                    continue
                try:
                    await consumer.commit(
                        {tp: OffsetAndMetadata(offset, "") for tp, offset in chosen.items()}
                    )
                except (CommitFailedError, KafkaError) as error:
                    # The partitions moved on; their new owner re-reads and dedupes.
                    log.warning("offset commit failed (%s); those messages will be redelivered", error)
                for tp, offset in chosen.items():
                    if pending.get(tp) == offset:
                        del pending[tp]

    def start(self) -> None:
        if self._interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="offset-committer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.flush()
            except Exception:  # a broker hiccup must not end the committer
                log.exception("offset flush failed; retrying")

    def listener(self, on_revoked: Callable[[str, int], None]) -> ConsumerRebalanceListener:
        committer = self

        class CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
            async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
                await committer.flush(set(revoked))
                for partition in revoked:
                    on_revoked(partition.topic, partition.partition)

            async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> Any:
                return None

        return CommitOnRevoke()
