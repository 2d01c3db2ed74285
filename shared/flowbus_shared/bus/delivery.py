"""What happens to one consumed record, the same on every bus backend.

decode -> (undecodable: dead-letter with the reason, commit) -> run the handler
in a consumer span parented to the producer's trace context -> commit on
success; on failure redeliver, or after `max_deliveries` dead-letter with the
reason and commit, so one poison message never blocks its partition.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from opentelemetry.trace import SpanKind, Status, StatusCode

from flowbus_shared import metrics
from flowbus_shared.bus.port import Delivery, RejectMessage, Subscription
from flowbus_shared.schemas import DeadLetterRecord, DecodeError, encode
from flowbus_shared.telemetry import extract_context, tracer

log = logging.getLogger("flowbus.bus")

DeadLetterKind = Literal["undecodable", "rejected", "handler-failed"]
PublishRaw = Callable[[str, bytes, str | None, dict[str, str]], Awaitable[None]]


class Verdict(enum.Enum):
    COMMIT = "commit"
    REDELIVER = "redeliver"


@dataclass(frozen=True)
class RawRecord:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: dict[str, str]


class DeliveryPolicy:
    def __init__(
        self,
        *,
        dead_letter_topic: str,
        max_deliveries: int,
        backoff_seconds: float,
        publish_raw: PublishRaw,
    ) -> None:
        self._dead_letter_topic = dead_letter_topic
        self._max_deliveries = max_deliveries
        self._backoff_seconds = backoff_seconds
        self._publish_raw = publish_raw

    async def settle(
        self, subscription: Subscription, record: RawRecord, closing: asyncio.Event | None = None
    ) -> int | None:
        """Deliver `record` until it is handled or dead-lettered; return the deliveries it took,
        or None when `closing` is set first (the record stays uncommitted for the next owner).

        A failed delivery is retried in place after a back-off, so later messages of the
        same key keep waiting behind it and order holds; its offset stays uncommitted
        meanwhile, so a crash hands it to the next consumer.
        """
        closing = closing or asyncio.Event()
        attempt = 1
        while True:
            try:
                verdict = await self.handle(subscription, record, attempt)
            except Exception:  # dead-lettering itself failed: keep the record, try again
                log.exception(
                    "could not dead-letter %s[%d]@%d", record.topic, record.partition, record.offset
                )
                verdict = Verdict.REDELIVER
            if verdict is Verdict.COMMIT:
                return attempt
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closing.wait(), timeout=self.backoff(attempt))
            if closing.is_set():
                return None
            metrics.redelivered(record.topic, subscription.group)
            attempt += 1

    def backoff(self, attempt: int) -> float:
        """Pause before redelivery `attempt + 1`: doubles, capped at 30 s."""
        return float(min(self._backoff_seconds * 2 ** (attempt - 1), 30.0))

    async def handle(self, subscription: Subscription, record: RawRecord, attempt: int) -> Verdict:
        try:
            message = subscription.codec_for(record.topic).decode(record.value)
        except DecodeError as error:
            log.warning(
                "dead-lettering undecodable record %s[%d]@%d: %s",
                record.topic,
                record.partition,
                record.offset,
                error.reason,
            )
            await self._dead_letter(subscription, record, attempt, "undecodable", error.reason)
            return Verdict.COMMIT

        delivery = Delivery(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            headers=record.headers,
            attempt=attempt,
            group=subscription.group,
        )
        attributes: dict[str, str | int] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": record.topic,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
            "messaging.consumer.group.name": subscription.group,
            "messaging.message.id": message.message_id,
        }
        if record.key is not None:
            attributes["messaging.kafka.message.key"] = record.key
        with tracer().start_as_current_span(
            f"process {record.topic}",
            context=extract_context(record.headers),
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                await subscription.handler(message, delivery)
            except RejectMessage as rejection:
                span.set_status(Status(StatusCode.ERROR, "rejected"))
                log.warning(
                    "dead-lettering rejected %s[%d]@%d: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    rejection,
                )
                await self._dead_letter(subscription, record, attempt, "rejected", str(rejection))
                return Verdict.COMMIT
            except Exception as error:  # noqa: BLE001 - any handler failure is redelivered or dead-lettered
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                reason = f"{type(error).__name__}: {error}"
                if attempt >= self._max_deliveries:
                    log.error(
                        "dead-lettering %s[%d]@%d after %d deliveries: %s",
                        record.topic,
                        record.partition,
                        record.offset,
                        attempt,
                        reason,
                    )
                    await self._dead_letter(subscription, record, attempt, "handler-failed", reason)
                    return Verdict.COMMIT
                log.warning(
                    "handler failed on %s[%d]@%d (delivery %d of %d), redelivering: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    attempt,
                    self._max_deliveries,
                    reason,
                )
                return Verdict.REDELIVER
        return Verdict.COMMIT

    async def _dead_letter(
        self,
        subscription: Subscription,
        record: RawRecord,
        attempt: int,
        error_type: DeadLetterKind,
        reason: str,
    ) -> None:
        dead = DeadLetterRecord(
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            consumer_group=subscription.group,
            reason=reason[:8000],
            error_type=error_type,
            delivery_attempts=attempt,
            payload_base64=base64.b64encode(record.value).decode(),
            payload_preview=record.value[:2000].decode("utf-8", errors="replace"),
            headers=record.headers,
        )
        await self._publish_raw(self._dead_letter_topic, encode(dead), dead.partition_key(), {})
        metrics.dead_lettered(record.topic, error_type)
