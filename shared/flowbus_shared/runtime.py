"""Running services: one process may host one service (`flowbus serve X`) or all
four (`flowbus dev`); the wiring is the same either way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from flowbus_shared.bus import MessageBus, create_bus, ensure_topics
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.store import SqlEventStore, open_store
from flowbus_shared.telemetry import configure_tracing

log = logging.getLogger("flowbus.runtime")


@dataclass
class Context:
    """What a service is built from."""

    settings: FlowbusSettings
    bus: MessageBus
    store: SqlEventStore


class Service(Protocol):
    name: str

    def register(self) -> None:
        """Subscribe handlers on the bus (before it starts)."""

    async def start(self) -> None:
        """Start background work (pollers, relays) once the bus runs."""

    async def stop(self) -> None: ...


ServiceFactory = Callable[[Context], Service]


class Runtime:
    """Opens the store and the bus, starts the services, and stops them in reverse."""

    def __init__(self, settings: FlowbusSettings, factories: Sequence[ServiceFactory], *, name: str) -> None:
        self.settings = settings
        self._factories = factories
        self._name = name
        self.services: list[Service] = []
        self._context: Context | None = None

    @property
    def context(self) -> Context:
        if self._context is None:
            raise RuntimeError("runtime not started")
        return self._context

    async def start(self) -> Context:
        configure_tracing(self._name)
        if self.settings.bus == "kafka":
            await ensure_topics(self.settings)
        store = await open_store(self.settings.database_url, pool_size=self.settings.database_pool_size)
        bus = create_bus(self.settings, client_name=self._name)
        self._context = Context(self.settings, bus, store)
        self.services = [factory(self._context) for factory in self._factories]
        for service in self.services:
            service.register()
        await bus.start()
        for service in self.services:
            await service.start()
        log.info("%s started: %s", self._name, ", ".join(s.name for s in self.services))
        return self._context

    async def stop(self) -> None:
        if self._context is None:
            return
        # In-flight messages finish first, while every service (its HTTP clients, its pools)
        # is still up: a step cut off by its own service's shutdown would fail and be retried
        # as a new attempt, repeating its side effect.
        await self._context.bus.stop_consuming()
        for service in reversed(self.services):
            await service.stop()
        await self._context.bus.stop()
        await self._context.store.close()
        self._context = None

    async def run_until_signalled(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        await self.start()
        try:
            await stop.wait()
        finally:
            log.info("%s stopping", self._name)
            await self.stop()
