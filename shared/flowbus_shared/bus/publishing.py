"""Publishing, the same on every backend: a producer span, the standard headers, and
the backend's `_send` for the bytes."""

from __future__ import annotations

from abc import ABC, abstractmethod

from opentelemetry.trace import SpanKind

from flowbus_shared.bus.headers import outgoing_headers, send_span_attributes
from flowbus_shared.schemas import Message, encode
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.telemetry import extract_context, tracer
from flowbus_shared.topics import TopicSpec

_TRACE_HEADERS = frozenset({"traceparent", "tracestate"})


class Publisher(ABC):
    _settings: FlowbusSettings

    async def publish(
        self,
        spec: TopicSpec,
        message: Message,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Publish `message`, keyed by its execution id unless `key` is given."""
        topic = self._settings.topic(spec.suffix)
        key = key if key is not None else message.partition_key()
        with tracer().start_as_current_span(
            f"send {topic}", kind=SpanKind.PRODUCER, attributes=send_span_attributes(topic, key)
        ):
            await self._send(topic, encode(message), key, outgoing_headers(message, headers))

    async def publish_raw(
        self,
        topic: str,
        payload: bytes,
        *,
        key: str | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Publish bytes as they are (the outbox relay, dead letters, tests of bad input)."""
        await self._send(topic, payload, key, outgoing_headers(None, headers))

    async def forward(self, topic: str, payload: bytes, *, key: str | None, headers: dict[str, str]) -> None:
        """Publish bytes recorded earlier (the outbox, due timers) in a send span of their own, under
        the parent their recorded `traceparent` names; the message then carries the send span's."""
        parent = extract_context(headers)
        fresh = {name: value for name, value in headers.items() if name not in _TRACE_HEADERS}
        with tracer().start_as_current_span(
            f"send {topic}",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes=send_span_attributes(topic, key),
        ):
            await self._send(topic, payload, key, outgoing_headers(None, fresh))

    @abstractmethod
    async def _send(self, topic: str, payload: bytes, key: str | None, headers: dict[str, str]) -> None: ...
