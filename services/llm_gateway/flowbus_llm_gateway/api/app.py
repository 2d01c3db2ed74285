"""The llm-gateway's FastAPI application: OpenAI-compatible chat and models, management
routes, problem-details errors, health."""

from __future__ import annotations

from fastapi import FastAPI

from flowbus_llm_gateway.api.admin_routes import admin_router
from flowbus_llm_gateway.api.chat_routes import chat_router
from flowbus_llm_gateway.gateway import Gateway
from flowbus_llm_gateway.keys import ProviderKeys
from flowbus_llm_gateway.ledger import Ledger
from flowbus_llm_gateway.price_book import PriceBook
from flowbus_shared.http import Authenticator, install_problem_handlers


def create_api(
    gateway: Gateway, keys: ProviderKeys, prices: PriceBook, ledger: Ledger, auth: Authenticator
) -> FastAPI:
    app = FastAPI(
        title="flowbus llm-gateway",
        version="1",
        description="Bring-your-own-key access to LLM providers: OpenAI-compatible chat completions "
        "with routing, fallbacks and budgets, and the routes to manage keys, prices, budgets and usage.",
    )
    install_problem_handlers(app)
    app.include_router(chat_router(gateway, keys, auth))
    app.include_router(admin_router(keys, prices, ledger, auth))

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
