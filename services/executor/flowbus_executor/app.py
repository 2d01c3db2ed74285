"""Wiring of the executor service: the step worker on `flowbus.steps.executor`, background
agents, and the HTTP API of the tenants' connections."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import FastAPI

from flowbus_executor.api.catalogue import ConnectionCatalogue
from flowbus_executor.api.connection_routes import connection_router
from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.agents.scheduler import BackgroundAgents
from flowbus_executor.registry import default_handlers
from flowbus_executor.settings import ExecutorSettings
from flowbus_shared.attempts import AttemptLog
from flowbus_shared.http.server import HttpServer
from flowbus_shared.http.service_app import service_api
from flowbus_shared.http_tracing import traced_http_client
from flowbus_shared.periodic import Periodic
from flowbus_shared.runtime import Context
from flowbus_shared.step_worker import StepHandler, StepWorker
from flowbus_shared.topics import STEPS_EXECUTOR
from flowbus_shared.vault import ConnectionVault

DESCRIPTION = (
    "The executor runs the steps that talk to the outside world. Its API keeps each tenant's "
    "connections: the credentials those steps use, sealed in the vault and never shown again."
)


def vault_of(context: Context) -> ConnectionVault:
    master_keys = context.settings.master_keys
    return ConnectionVault(context.store.engine, master_keys.get_secret_value() if master_keys else None)


def create_app(context: Context) -> FastAPI:
    """The executor's HTTP API, built without starting or connecting anything."""
    api = service_api(context, service="executor", description=DESCRIPTION)
    api.app.include_router(
        connection_router(ConnectionCatalogue(context.store.engine, vault_of(context)), api.auth)
    )
    return api.app


class ExecutorService:
    name = "executor"

    def __init__(
        self,
        context: Context,
        settings: ExecutorSettings | None = None,
        *,
        extra_handlers: Mapping[str, StepHandler] | None = None,
    ) -> None:
        settings = settings or ExecutorSettings()
        self.deps = ExecutorDeps(
            settings=settings,
            http=traced_http_client(
                httpx.AsyncClient(timeout=settings.http_timeout_seconds, follow_redirects=False)
            ),
            vault=vault_of(context),
            engine=context.store.engine,
        )
        self.worker = StepWorker(
            name="executor",
            bus=context.bus,
            queue=STEPS_EXECUTOR,
            group=context.settings.group("executor"),
            handlers={**default_handlers(self.deps), **(extra_handlers or {})},
            attempts=AttemptLog(context.store.engine),
        )
        # Background agents' due rounds (schedules in the database, claimed once across executors).
        self.background = Periodic(BackgroundAgents(self.deps).run_due, 1.0, name="background agents")
        self.server: HttpServer | None = None
        if settings.executor_http_enabled:
            self.server = HttpServer(
                create_app(context), settings.executor_http_host, settings.executor_http_port, name=self.name
            )

    def register(self) -> None:
        self.worker.register()

    async def start(self) -> None:
        await self.worker.start()
        if self.server is not None:
            await self.server.start()
        self.background.start()

    async def stop(self) -> None:
        await self.background.stop()
        if self.server is not None:
            await self.server.stop()
        await self.worker.stop()
        await self.deps.http.aclose()


def create_service(context: Context) -> ExecutorService:
    return ExecutorService(context)
