"""Wiring of the llm-gateway service: the step worker on `flowbus.steps.llm`, the HTTP API,
and the sweeper that releases budget reservations abandoned by crashed calls."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
from fastapi import FastAPI

from flowbus_llm_gateway import steps
from flowbus_llm_gateway.api.app import DESCRIPTION, create_api
from flowbus_llm_gateway.gateway import Gateway
from flowbus_llm_gateway.keys import ProviderKeys
from flowbus_llm_gateway.ledger import Ledger
from flowbus_llm_gateway.price_book import PriceBook
from flowbus_llm_gateway.pricing import apply_overrides, catalogue_entries
from flowbus_llm_gateway.settings import GatewaySettings
from flowbus_shared.attempts import AttemptLog
from flowbus_shared.http.server import HttpServer
from flowbus_shared.http.service_app import service_api
from flowbus_shared.http_tracing import traced_http_client
from flowbus_shared.periodic import Periodic
from flowbus_shared.runtime import Context
from flowbus_shared.schemas import LlmTokenEvent
from flowbus_shared.step_worker import StepWorker
from flowbus_shared.topics import LLM_TOKENS, STEPS_LLM
from flowbus_shared.vault import ConnectionVault

log = logging.getLogger("flowbus.llm_gateway")


class GatewayService:
    name = "llm-gateway"

    def __init__(self, context: Context, settings: GatewaySettings | None = None) -> None:
        self.settings = settings = settings or GatewaySettings()
        engine = context.store.engine
        master_keys = context.settings.master_keys
        vault = ConnectionVault(engine, master_keys.get_secret_value() if master_keys else None)
        entries = {
            m.key: m.model_dump()
            for m in apply_overrides(
                catalogue_entries(settings.llm_catalogue_file), settings.llm_model_overrides
            )
        }
        self.bus = context.bus
        self.http = traced_http_client(httpx.AsyncClient(timeout=settings.request_timeout_seconds))
        self.keys = ProviderKeys(vault)
        self.ledger = Ledger(engine)
        self.prices = PriceBook(engine, entries)
        self.gateway = Gateway(self.http, self.keys, self.prices, ledger=self.ledger)
        if not master_keys:
            log.warning(
                "no FLOWBUS_MASTER_KEYS: no provider keys can be stored, so nlu_analysis %s; "
                "llm_completion and workflow_generation cannot run",
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
            attempts=AttemptLog(engine),
        )
        self.server: HttpServer | None = None
        if settings.llm_http_enabled:
            self.server = HttpServer(
                self.build_app(context),
                settings.llm_http_host,
                settings.llm_http_port,
                name=self.name,
            )
        every = min(settings.llm_reservation_timeout_seconds / 2, 60.0)
        self.sweeper = Periodic(self._release_abandoned, every, name="llm reservation sweep")

    async def _publish_token(self, event: LlmTokenEvent) -> None:
        await self.bus.publish(LLM_TOKENS, event, key=event.request_id)

    async def _release_abandoned(self) -> None:
        timeout = timedelta(seconds=self.settings.llm_reservation_timeout_seconds)
        released = await self.ledger.release_abandoned(timeout)
        if released:
            log.warning("released %d abandoned budget reservation(s)", released)

    def build_app(self, context: Context) -> FastAPI:
        api = service_api(context, service=self.name, description=DESCRIPTION)
        return create_api(api, self.gateway, self.keys, self.prices, self.ledger)

    def register(self) -> None:
        self.worker.register()

    async def start(self) -> None:
        await self.worker.start()
        if self.server is not None:
            await self.server.start()
        self.sweeper.start()

    async def stop(self) -> None:
        await self.sweeper.stop()
        if self.server is not None:
            await self.server.stop()
        await self.worker.stop()
        await self.http.aclose()


def create_service(context: Context) -> GatewayService:
    return GatewayService(context)


def create_app(context: Context) -> FastAPI:
    """The HTTP API without serving it (the published OpenAPI document is made from it)."""
    return GatewayService(context, GatewaySettings(llm_http_enabled=False)).build_app(context)
