"""The message bus: one small interface, a Kafka backend and an in-process one."""

from __future__ import annotations

from flowbus_shared.bus.admin import ensure_topics
from flowbus_shared.bus.kafka import KafkaBus
from flowbus_shared.bus.memory import MemoryBus
from flowbus_shared.bus.port import BatchHandler, Delivery, Handler, MessageBus, RejectMessage, Subscription
from flowbus_shared.settings import FlowbusSettings


def create_bus(settings: FlowbusSettings, *, client_name: str) -> MessageBus:
    """The backend the settings name: Kafka in production, in-process when embedded."""
    if settings.bus == "memory":
        return MemoryBus(settings)
    return KafkaBus(settings, client_name=client_name)


__all__ = [
    "BatchHandler",
    "Delivery",
    "Handler",
    "KafkaBus",
    "MemoryBus",
    "MessageBus",
    "RejectMessage",
    "Subscription",
    "create_bus",
    "ensure_topics",
]
