"""Wiring of the orchestrator service: the engine on commands, results and triggers, the
outbox relay and timer poller, and the HTTP API."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from flowbus_orchestrator.adapters.definitions import DefinitionRepository
from flowbus_orchestrator.adapters.generator import WorkflowGenerator
from flowbus_orchestrator.adapters.projection import ExecutionProjection
from flowbus_orchestrator.api.app import DESCRIPTION, install_api
from flowbus_orchestrator.api.deps import ApiDeps
from flowbus_orchestrator.background import Poller, outbox_relay, timer_poller
from flowbus_orchestrator.engine import Engine
from flowbus_orchestrator.handlers import OrchestratorHandlers
from flowbus_orchestrator.predefined import predefined_workflows
from flowbus_orchestrator.settings import OrchestratorSettings
from flowbus_shared.faults import FaultInjector
from flowbus_shared.http.server import HttpServer
from flowbus_shared.http.service_app import service_api
from flowbus_shared.http_tracing import traced_http_client
from flowbus_shared.identity import IdentitySettings, identity_router
from flowbus_shared.runtime import Context
from flowbus_shared.topics import COMMANDS, STEP_RESULTS, TRIGGERS


class OrchestratorService:
    name = "orchestrator"

    def __init__(
        self,
        context: Context,
        settings: OrchestratorSettings | None = None,
        *,
        timer_poll_seconds: float = 0.1,
    ) -> None:
        self._context = context
        self.settings = settings = settings or OrchestratorSettings()
        engine = context.store.engine
        self.definitions = DefinitionRepository(engine)
        self.projection = ExecutionProjection(engine)
        self.relay = Poller("outbox-relay", outbox_relay(context.store, context.bus), idle_seconds=0.5)
        self.timers = Poller("timer-poller", timer_poller(context.store, context.bus), timer_poll_seconds)
        faults = FaultInjector(context.settings.fault_injection)
        self.engine = Engine(
            context.store,
            self.definitions,
            self.projection,
            context.settings,
            on_appended=self.relay.wake.set,
            faults=faults,
        )
        self._relay_step = outbox_relay(context.store, context.bus)
        self.handlers = OrchestratorHandlers(
            self.engine, self.definitions, context.bus, drain_outbox=self.drain_outbox, faults=faults
        )
        self._gateway: httpx.AsyncClient | None = None
        self.server: HttpServer | None = None
        if settings.orchestrator_http_enabled:
            self.server = HttpServer(
                self.build_app(),
                settings.orchestrator_http_host,
                settings.orchestrator_http_port,
                name=self.name,
            )

    def build_app(self) -> FastAPI:
        """The HTTP API: workflows, executions and triggers, and the identity routes (users,
        tenants, API keys), which the orchestrator hosts for every service."""
        context, settings = self._context, self.settings
        generator = None
        if settings.llm_gateway_url:
            self._gateway = traced_http_client(
                httpx.AsyncClient(
                    base_url=f"{settings.llm_gateway_url.rstrip('/')}/",
                    timeout=settings.orchestrator_generation_timeout_seconds,
                    follow_redirects=False,
                )
            )
            generator = WorkflowGenerator(
                self._gateway,
                self.definitions,
                model=settings.orchestrator_generation_model,
                api_key=settings.llm_gateway_api_key,
            )
        api = service_api(context, service=self.name, description=DESCRIPTION)
        deps = ApiDeps(self.definitions, self.projection, self.engine, context.bus, api.auth, generator)
        app = install_api(api, deps)
        app.include_router(identity_router(context.store.engine, api.auth, IdentitySettings()))
        return app

    async def drain_outbox(self) -> None:
        """Publish everything owed now (tests and shutdown)."""
        while await self._relay_step():
            pass

    def register(self) -> None:
        group = self._context.settings.group("orchestrator")
        bus = self._context.bus
        bus.subscribe(TRIGGERS, group=group, handler=self.handlers.on_trigger)
        # One consumer for both, so the instance that owns an execution's partition sees
        # all its commands and results (they are keyed and partitioned alike).
        bus.subscribe(
            [COMMANDS, STEP_RESULTS],
            group=group,
            handler=self.handlers.on_message,
            batch_handler=self.handlers.on_messages,  # an execution's queued-up messages in one go
        )

    async def start(self) -> None:
        for definition in predefined_workflows():
            await self.definitions.register(definition)  # built-ins: every tenant sees them
        # Restore: whatever was owed before a restart (requests, due timers) goes out now.
        self.relay.start()
        self.timers.start()
        if self.server is not None:
            await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        await self.timers.stop()
        await self.relay.stop()
        if self._gateway is not None:
            await self._gateway.aclose()


def create_service(context: Context) -> OrchestratorService:
    return OrchestratorService(context)


def create_app(context: Context) -> FastAPI:
    """The HTTP API without serving it (the published OpenAPI document is made from it)."""
    return OrchestratorService(context, OrchestratorSettings(orchestrator_http_enabled=False)).build_app()
