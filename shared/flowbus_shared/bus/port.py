"""The bus interface every service codes against, whichever backend runs it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from flowbus_shared.schemas import Codec, Message
from flowbus_shared.topics import TopicSpec


@dataclass(frozen=True)
class Delivery:
    """Where a consumed message came from, and how often it has been handed over."""

    topic: str
    partition: int
    offset: int
    key: str | None
    headers: dict[str, str]
    attempt: int
    group: str


Handler = Callable[[Any, Delivery], Awaitable[None]]
# Messages of one key that were waiting together, in offset order: all handled, or an exception
# (then each is delivered again on its own to the subscription's Handler).
BatchHandler = Callable[[Sequence[Any], Sequence[Delivery]], Awaitable[None]]


class RejectMessage(Exception):
    """Raised by a handler for a well-formed message that can never be handled
    (it names a workflow that does not exist, say): dead-lettered at once with
    this reason instead of being redelivered."""


@dataclass(frozen=True)
class Subscription:
    """One consumer of a group reading one or more topics; the handler gets decoded messages.

    Topics read together are co-partitioned: with the same key and partition
    count, partition n of each goes to the same consumer, so one instance sees
    everything about an execution.
    """

    topics: dict[str, TopicSpec]  # full topic name -> what it carries
    group: str
    handler: Handler
    batch_handler: BatchHandler | None = None

    def codec_for(self, topic: str) -> Codec[Any]:
        return self.topics[topic].codec


def as_specs(specs: TopicSpec | Sequence[TopicSpec]) -> list[TopicSpec]:
    return [specs] if isinstance(specs, TopicSpec) else list(specs)


class MessageBus(Protocol):
    """Publish keyed messages; consume them at least once, in key order.

    A handler that returns has its message committed; one that raises has it
    redelivered (up to the configured number of deliveries, then dead-lettered
    with the reason); an undecodable message is dead-lettered at once. Nothing
    stops the consumer.
    """

    def subscribe(
        self,
        specs: TopicSpec | Sequence[TopicSpec],
        *,
        group: str,
        handler: Handler,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        """`handler` gets each message; with `batch_handler`, messages of one key that queued up
        behind each other go to it together (one call, in order), and if it raises, each of them
        goes to `handler` on its own, with the usual redelivery and dead-lettering."""
        ...

    async def start(self) -> None: ...

    async def stop_consuming(self) -> None:
        """Take no new messages and finish the ones in flight (their offsets committed);
        publishing still works, so services can stop after it and still send what they owe."""
        ...

    async def stop(self) -> None:
        """Stop consuming (as above), then close every connection."""
        ...

    async def ready(self, within_seconds: float) -> str | None:
        """None when the bus can carry messages now; otherwise what is wrong, briefly. A cheap
        check for readiness probes: the answer is public, so no addresses or credentials."""
        ...

    async def publish(
        self,
        spec: TopicSpec,
        message: Message,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None: ...

    async def publish_raw(
        self,
        topic: str,
        payload: bytes,
        *,
        key: str | None,
        headers: dict[str, str] | None = None,
    ) -> None: ...

    async def forward(self, topic: str, payload: bytes, *, key: str | None, headers: dict[str, str]) -> None:
        """Publish bytes recorded earlier (outbox, timers) in a send span under their recorded parent."""
        ...
