"""Wiring of the llm-gateway service."""

from __future__ import annotations

import logging

import httpx

from flowbus_llm_gateway import steps
from flowbus_llm_gateway.gateway import Gateway
from flowbus_llm_gateway.keys import ProviderKeys
from flowbus_llm_gateway.ledger import Ledger
from flowbus_llm_gateway.pricing import load_catalogue
from flowbus_llm_gateway.settings import GatewaySettings
from flowbus_shared.attempts import AttemptLog
from flowbus_shared.runtime import Context
from flowbus_shared.schemas import LlmTokenEvent
from flowbus_shared.step_worker import StepWorker
from flowbus_shared.topics import LLM_TOKENS, STEPS_LLM
from flowbus_shared.vault import ConnectionVault

log = logging.getLogger("flowbus.llm_gateway")


class GatewayService:
    name = "llm-gateway"

    def __init__(self, context: Context, settings: GatewaySettings | None = None) -> None:
        settings = settings or GatewaySettings()
        master_keys = context.settings.master_keys
        vault = ConnectionVault(context.store.engine, master_keys.get_secret_value() if master_keys else None)
        self.bus = context.bus
        self.http = httpx.AsyncClient(timeout=settings.request_timeout_seconds)
        self.keys = ProviderKeys(vault)
        self.ledger = Ledger(context.store.engine)
        self.gateway = Gateway(self.http, self.keys, load_catalogue(), ledger=self.ledger)
        if not master_keys:
            log.warning(
                "no FLOWBUS_MASTER_KEYS: no provider keys can be stored, so nlu_analysis %s",
                "answers with the rule-based NLU (local-rules)" if settings.llm_local_rules else "will fail",
            )
        self.worker = StepWorker(
            name="llm-gateway",
            bus=context.bus,
            queue=STEPS_LLM,
            group=context.settings.group("llm-gateway"),
            handlers=steps.handlers(
                self.gateway, local_rules=settings.llm_local_rules, publish_token=self._publish_token
            ),
            attempts=AttemptLog(context.store.engine),
        )

    async def _publish_token(self, event: LlmTokenEvent) -> None:
        await self.bus.publish(LLM_TOKENS, event, key=event.request_id)

    def register(self) -> None:
        self.worker.register()

    async def start(self) -> None:
        await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()
        await self.http.aclose()


def create_service(context: Context) -> GatewayService:
    return GatewayService(context)
