"""The identity API served for real (uvicorn on a free loopback port) over a migrated SQLite
database: a platform tenant and two tenants, acme and globex, each with keys of every role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from flowbus_shared.auth import ApiKeys, JwtVerifier, PersonRole, issue_token
from flowbus_shared.http import Authenticator, install_problem_handlers
from flowbus_shared.http.server import HttpServer
from flowbus_shared.identity import IdentitySettings, Tenants, identity_router, jwt_verifier
from flowbus_shared.store import SqlEventStore, open_store

JWT_SECRET = "an-identity-test-secret-of-enough-length"


@dataclass
class IdentityApi:
    url: str
    store: SqlEventStore
    settings: IdentitySettings
    tokens: dict[str, str]  # "<tenant>/<role>" -> API key

    def client(self, tenant: str = "acme", role: str = "admin") -> httpx.AsyncClient:
        return self.bearer(self.tokens[f"{tenant}/{role}"])

    def bearer(self, token: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"authorization": f"Bearer {token}"})

    def jwt(self, tenant: str, subject: str, role: PersonRole, **options: object) -> str:
        claims: dict[str, object] = {"audience": "flowbus", "ttl_seconds": 300} | options
        return issue_token(JWT_SECRET, subject=subject, tenant_id=tenant, role=role, **claims)  # type: ignore[arg-type]


def build_app(store: SqlEventStore, settings: IdentitySettings) -> FastAPI:
    app = FastAPI(title="flowbus identity (test)")
    install_problem_handlers(app)
    keys = ApiKeys(store.engine, cache_seconds=settings.credential_cache_seconds)
    verifier: JwtVerifier | None = jwt_verifier(store.engine, settings)
    auth = Authenticator(keys, tokens=verifier)
    app.include_router(identity_router(store.engine, auth, settings))
    return app


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[IdentityApi]:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}")
    # The default cache time: revocations through the API must hold at once all the same.
    settings = IdentitySettings(jwt_secret=SecretStr(JWT_SECRET), platform_tenant="platform")
    tenants = Tenants(store.engine)
    keys = ApiKeys(store.engine)
    tokens: dict[str, str] = {}
    for tenant in ("platform", "acme", "globex"):
        await tenants.create(tenant)
        for role in ("admin", "operator", "viewer", "service"):
            tokens[f"{tenant}/{role}"] = (await keys.create(tenant, role)).token
    server = HttpServer(build_app(store, settings), "127.0.0.1", 0, name="identity-test")
    await server.start()
    try:
        yield IdentityApi(f"http://127.0.0.1:{server.port}", store, settings, tokens)
    finally:
        await server.stop()
        await store.close()
