"""The gateway's OpenAPI document: every route published, each protected one with its errors."""

from __future__ import annotations

from pathlib import Path

import httpx

from flowbus_llm_gateway.api.app import create_api
from flowbus_llm_gateway.gateway import Gateway
from flowbus_llm_gateway.keys import ProviderKeys
from flowbus_llm_gateway.ledger import Ledger
from flowbus_llm_gateway.price_book import PriceBook
from flowbus_shared.http.service_app import build_service_api
from flowbus_shared.store import create_engine
from flowbus_shared.vault import ConnectionVault


async def test_every_route_is_in_the_openapi_document(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")  # never connected
    keys = ProviderKeys(ConnectionVault(engine, None))
    prices = PriceBook(engine, {})
    async with httpx.AsyncClient() as http:
        gateway = Gateway(http, keys, prices)
        api = build_service_api(engine, None, service="llm-gateway", description="test")
        document = create_api(api, gateway, keys, prices, Ledger(engine)).openapi()
    paths = document["paths"]
    assert set(paths) >= {
        "/v1/chat/completions",
        "/v1/models",
        "/v1/models/{provider}/{model}",
        "/v1/llm/keys",
        "/v1/llm/keys/{provider}",
        "/v1/llm/prices",
        "/v1/llm/prices/{provider}/{model}",
        "/v1/llm/budgets",
        "/v1/llm/budgets/agents/{agent_id}",
        "/v1/llm/usage",
        "/v1/llm/usage/records",
        "/healthz",
    }
    assert set(paths["/v1/llm/keys/{provider}"]) == {"put", "delete"}
    body = paths["/v1/chat/completions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/CompletionIn")
