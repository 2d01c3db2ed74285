"""Wiring of the executor service."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.agents.scheduler import BackgroundAgents
from flowbus_executor.registry import default_handlers
from flowbus_executor.settings import ExecutorSettings
from flowbus_shared.attempts import AttemptLog
from flowbus_shared.periodic import Periodic
from flowbus_shared.runtime import Context
from flowbus_shared.step_worker import StepHandler, StepWorker
from flowbus_shared.topics import STEPS_EXECUTOR
from flowbus_shared.vault import ConnectionVault


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
        master_keys = context.settings.master_keys
        keys = master_keys.get_secret_value() if master_keys else None
        self.deps = ExecutorDeps(
            settings=settings,
            http=httpx.AsyncClient(timeout=settings.http_timeout_seconds, follow_redirects=False),
            vault=ConnectionVault(context.store.engine, keys),
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

    def register(self) -> None:
        self.worker.register()

    async def start(self) -> None:
        await self.worker.start()
        self.background.start()

    async def stop(self) -> None:
        await self.background.stop()
        await self.worker.stop()
        await self.deps.http.aclose()


def create_service(context: Context) -> ExecutorService:
    return ExecutorService(context)
