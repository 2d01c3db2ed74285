"""One FastAPI application per service, built the same way everywhere: problem-details
errors, health routes and bearer authentication. Services add their `/v1/...` routers."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from flowbus_shared.auth import ApiKeys
from flowbus_shared.http.problems import install_problem_handlers
from flowbus_shared.http.security import Authenticator
from flowbus_shared.runtime import Context


@dataclass
class ServiceApi:
    app: FastAPI
    auth: Authenticator


def service_api(context: Context, *, service: str, description: str) -> ServiceApi:
    """The application of `service` (e.g. "orchestrator"); add routers to `.app`, guard them
    with `.auth.require(role)`."""
    app = FastAPI(title=f"flowbus {service}", version="1", description=description)
    install_problem_handlers(app)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return ServiceApi(app, Authenticator(ApiKeys(context.store.engine)))
