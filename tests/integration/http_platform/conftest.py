"""An application built by the shared factory (`build_service_api`), with a few test routes,
served for real by uvicorn on a free loopback port over a migrated SQLite database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_shared.auth import ApiKeys, Principal, Role
from flowbus_shared.bus import MemoryBus
from flowbus_shared.bus.port import MessageBus
from flowbus_shared.http import TokenVerifier, current_request_id
from flowbus_shared.http.server import HttpServer
from flowbus_shared.http.service_app import ServiceApi, build_service_api
from flowbus_shared.http.settings import HttpSettings
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.store import open_store

SERVICE = "platform-test"


class FakeClock:
    """The rate limiter's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Note(BaseModel):
    text: str


def sample_router(api: ServiceApi) -> APIRouter:
    router = APIRouter(prefix="/v1")
    viewer = Depends(api.auth.require("viewer"))

    @router.get("/things/{thing_id}")
    async def thing(thing_id: str, principal: Principal = viewer) -> dict[str, Any]:
        return {"id": thing_id, "tenant": principal.tenant_id, "request_id": current_request_id()}

    @router.post("/notes")
    async def note(body: Note, _principal: Principal = viewer) -> dict[str, int]:
        return {"length": len(body.text)}

    @router.post("/uploads")
    async def upload(request: Request, _principal: Principal = viewer) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"bytes": size}

    @router.get("/events")
    async def events(_principal: Principal = viewer) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for n in range(3):
                yield f"data: {n}\n\n".encode()

        return StreamingResponse(
            chunks(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
        )

    @router.get("/broken")
    async def broken(_principal: Principal = viewer) -> None:
        raise RuntimeError("a bug")

    return router


@dataclass
class Served:
    url: str
    app: FastAPI
    clock: FakeClock
    tokens: dict[str, str] = field(default_factory=dict)  # "tenant/role" -> bearer token

    def client(
        self, tenant: str = "acme", role: Role = "admin", *, headers: dict[str, str] | None = None
    ) -> httpx.AsyncClient:
        token = self.tokens[f"{tenant}/{role}"]
        return httpx.AsyncClient(
            base_url=self.url, headers={"authorization": f"Bearer {token}", **(headers or {})}
        )

    def anonymous(self, **options: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, **options)


Serve = Callable[..., AbstractAsyncContextManager[Served]]


@asynccontextmanager
async def serve_app(
    engine: AsyncEngine,
    bus: MessageBus | None,
    *,
    settings: HttpSettings | None = None,
    tokens: TokenVerifier | None = None,
    keys: ApiKeys | None = None,
    service: str = SERVICE,
) -> AsyncIterator[Served]:
    clock = FakeClock()
    api = build_service_api(
        engine,
        bus,
        service=service,
        description="the platform under test",
        settings=settings or HttpSettings(),
        keys=keys,
        tokens=tokens,
        clock=clock,
    )
    api.app.include_router(sample_router(api))
    api.about["edition"] = "test"
    server = HttpServer(api.app, "127.0.0.1", 0, name=SERVICE)
    await server.start()
    try:
        yield Served(f"http://127.0.0.1:{server.port}", api.app, clock)
    finally:
        await server.stop()


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[Serve]:
    """Serve an application on a migrated SQLite database with keys of two tenants."""
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'platform.db'}")
    keys = ApiKeys(store.engine)
    tokens = {
        f"{tenant}/{role}": (await keys.create(tenant, role)).token
        for tenant in ("acme", "globex")
        for role in ("admin", "viewer", "service")
    }
    bus = MemoryBus(FlowbusSettings(bus="memory"))

    @asynccontextmanager
    async def serving(**options: Any) -> AsyncIterator[Served]:
        async with serve_app(store.engine, bus, keys=keys, **options) as served:
            served.tokens.update(tokens)
            yield served

    try:
        yield serving
    finally:
        await store.close()


@pytest.fixture
async def served(serve: Serve) -> AsyncIterator[Served]:
    async with serve() as running:
        yield running
