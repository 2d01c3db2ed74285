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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from opentelemetry.trace import SpanKind, Status, StatusCode, use_span

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

    async def settle_many(
        self, subscription: Subscription, records: Sequence[RawRecord], closing: asyncio.Event | None = None
    ) -> list[int | None]:
        """Records of one key, in order: to the subscription's batch handler together when it has one
        (one delivery each), else, or when that fails, each settled on its own as `settle` does."""
        batched = subscription.batch_handler is not None and len(records) > 1
        if batched and await self._handled_together(subscription, records):
            return [1] * len(records)
        return [await self.settle(subscription, record, closing) for record in records]

    async def _handled_together(self, subscription: Subscription, records: Sequence[RawRecord]) -> bool:
        assert subscription.batch_handler is not None
        try:
            messages = [subscription.codec_for(r.topic).decode(r.value) for r in records]
        except DecodeError:
            return False  # settled one by one, the undecodable one dead-lettered there
        # A consumer span per message, each under its own producer's context, as `handle` makes them.
        spans = [
            tracer().start_span(
                f"process {record.topic}",
                context=extract_context(record.headers),
                kind=SpanKind.CONSUMER,
                attributes={
                    **_process_attributes(subscription, record, message.message_id),
                    "messaging.batch.message_count": len(records),
                },
            )
            for record, message in zip(records, messages, strict=True)
        ]
        try:
            with use_span(spans[-1], end_on_exit=False):
                await subscription.batch_handler(messages, [_delivery(subscription, r, 1) for r in records])
        except Exception as error:  # noqa: BLE001 - each message is delivered again on its own
            log.info(
                "batch of %d on %s not handled together (%s); one by one",
                len(records),
                records[0].topic,
                error,
            )
            for span in spans:
                span.set_status(Status(StatusCode.ERROR, "batch not handled; delivered one by one"))
                span.end()
            return False
        for span in spans:
            span.end()
        return True

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

        delivery = _delivery(subscription, record, attempt)
        attributes = _process_attributes(subscription, record, message.message_id)
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


def _delivery(subscription: Subscription, record: RawRecord, attempt: int) -> Delivery:
    return Delivery(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        headers=record.headers,
        attempt=attempt,
        group=subscription.group,
    )


def _process_attributes(
    subscription: Subscription, record: RawRecord, message_id: str
) -> dict[str, str | int]:
    """The messaging semantic conventions of a consumer's process span."""
    attributes: dict[str, str | int] = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.destination.name": record.topic,
        "messaging.destination.partition.id": str(record.partition),
        "messaging.kafka.offset": record.offset,
        "messaging.consumer.group.name": subscription.group,
        "messaging.message.id": message_id,
    }
    if record.key is not None:
        attributes["messaging.kafka.message.key"] = record.key
    return attributes
