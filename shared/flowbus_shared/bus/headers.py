"""Headers flowbus puts on every message it publishes."""

from __future__ import annotations

from flowbus_shared.schemas import Message
from flowbus_shared.telemetry import inject_context


def outgoing_headers(message: Message | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Content type, message type and the current trace context (W3C traceparent)."""
    headers: dict[str, str] = {"content-type": "application/json"}
    if message is not None:
        headers["flowbus-type"] = str(getattr(message, "type", ""))
        headers["flowbus-message-id"] = message.message_id
    if extra:
        headers.update(extra)
    if "traceparent" not in headers:
        inject_context(headers)
    return headers


def send_span_attributes(topic: str, key: str | None) -> dict[str, str]:
    attributes = {
        "messaging.system": "kafka",
        "messaging.operation.type": "send",
        "messaging.destination.name": topic,
    }
    if key is not None:
        attributes["messaging.kafka.message.key"] = key
    return attributes
