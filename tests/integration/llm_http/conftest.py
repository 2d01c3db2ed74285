"""The llm-gateway's HTTP API served for real (uvicorn on a free loopback port) over a
migrated database, with provider doubles on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest

from flowbus_llm_gateway.api.app import create_api
from flowbus_llm_gateway.catalogue import ModelInfo, Prices
from flowbus_llm_gateway.gateway import Gateway
from flowbus_llm_gateway.keys import ProviderKeys
from flowbus_llm_gateway.ledger import Ledger
from flowbus_llm_gateway.price_book import PriceBook
from flowbus_shared.auth import ApiKeys, Role
from flowbus_shared.http.server import HttpServer
from flowbus_shared.http.service_app import build_service_api
from flowbus_shared.store import open_store
from flowbus_shared.vault import ConnectionVault
from tests.support.executor_deps import TEST_MASTER_KEYS

CATALOGUE = [
    ModelInfo(
        provider="openai",
        model="cheap-1",
        context_window=128_000,
        quality=95,
        prices=Prices(input=1.0, output=2.0),
        priced_on=date(2026, 11, 1),
    ),
    ModelInfo(
        provider="deepseek",
        model="backup-1",
        context_window=64_000,
        quality=95,
        prices=Prices(input=3.0, output=6.0),
        priced_on=date(2026, 11, 1),
    ),
]


@dataclass
class Api:
    url: str
    keys: ProviderKeys
    ledger: Ledger
    api_keys: ApiKeys
    tokens: dict[str, str]  # "tenant/role" -> bearer token

    def token(self, tenant: str = "acme", role: Role = "admin") -> str:
        return self.tokens[f"{tenant}/{role}"]

    def client(self, tenant: str = "acme", role: Role = "admin") -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url, headers={"authorization": f"Bearer {self.token(tenant, role)}"}
        )


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'api.db'}")
    engine = store.engine
    keys = ProviderKeys(ConnectionVault(engine, TEST_MASTER_KEYS))
    ledger = Ledger(engine)
    prices = PriceBook(engine, {m.key: m.model_dump() for m in CATALOGUE})
    api_keys = ApiKeys(engine)
    tokens = {
        f"{tenant}/{role}": (await api_keys.create(tenant, role)).token
        for tenant in ("acme", "globex")
        for role in ("admin", "operator", "viewer")
    }
    async with httpx.AsyncClient() as http:
        gateway = Gateway(http, keys, prices, ledger=ledger)
        platform = build_service_api(engine, None, service="llm-gateway", description="test", keys=api_keys)
        server = HttpServer(create_api(platform, gateway, keys, prices, ledger), "127.0.0.1", 0, name="test")
        await server.start()
        try:
            yield Api(f"http://127.0.0.1:{server.port}", keys, ledger, api_keys, tokens)
        finally:
            await server.stop()
            await store.close()
