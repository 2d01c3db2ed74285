"""The llm-gateway's HTTP routes: OpenAI-compatible chat and models, and the management
routes, on the application every service shares (`service_api`: problem-details errors,
health, request ids, limits)."""

from __future__ import annotations

from fastapi import FastAPI

from flowbus_llm_gateway.api.admin_routes import admin_router
from flowbus_llm_gateway.api.chat_routes import chat_router
from flowbus_llm_gateway.gateway import Gateway
from flowbus_llm_gateway.keys import ProviderKeys
from flowbus_llm_gateway.ledger import Ledger
from flowbus_llm_gateway.price_book import PriceBook
from flowbus_shared.http.service_app import ServiceApi

DESCRIPTION = (
    "Bring-your-own-key access to LLM providers: OpenAI-compatible chat completions with routing, "
    "fallbacks and budgets, and the routes to manage keys, prices, budgets and usage."
)


def create_api(
    api: ServiceApi, gateway: Gateway, keys: ProviderKeys, prices: PriceBook, ledger: Ledger
) -> FastAPI:
    api.app.include_router(chat_router(gateway, keys, api.auth))
    api.app.include_router(admin_router(keys, prices, ledger, api.auth))
    return api.app
