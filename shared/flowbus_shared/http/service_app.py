"""One FastAPI application per service, built the same way everywhere. Services add their
`/v1/...` routers to `.app` and guard them with `.auth.require(role)`.

Every application has, outermost first:
- request ids, the JSON access log and the Prometheus metrics (`observe.py`),
- security headers (`security_headers.py`),
- CORS for the configured origins (Starlette's CORSMiddleware; none configured: no CORS),
- the request body limit (`body_limit.py`),
all pure ASGI middleware (streamed answers pass through untouched); problem-details errors;
`/healthz`, `/readyz`, `/version` and `/metrics` (`health.py`); and bearer authentication
(API keys, tokens through a `TokenVerifier`) with a rate limit per key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware.cors import CORSMiddleware

from flowbus_shared.auth import ApiKeys
from flowbus_shared.bus.port import MessageBus
from flowbus_shared.http.body_limit import BodyLimit
from flowbus_shared.http.health import Readiness, health_router
from flowbus_shared.http.observe import ObserveRequests
from flowbus_shared.http.problems import install_problem_handlers
from flowbus_shared.http.rate_limit import Clock, RateLimiter
from flowbus_shared.http.security import TENANT_HEADER, Authenticator, TokenVerifier
from flowbus_shared.http.security_headers import SecurityHeaders
from flowbus_shared.http.settings import HttpSettings
from flowbus_shared.identity.settings import IdentitySettings, jwt_verifier
from flowbus_shared.runtime import Context

_CORS_HEADERS = ["authorization", "content-type", "x-request-id", TENANT_HEADER, "x-flowbus-agent-id"]
_CORS_EXPOSED = ["x-request-id", "retry-after"]


@dataclass
class ServiceApi:
    app: FastAPI
    auth: Authenticator
    about: dict[str, str] = field(default_factory=dict)  # added to GET /version (e.g. a policy version)


def service_api(
    context: Context,
    *,
    service: str,
    description: str,
    settings: HttpSettings | None = None,
    tokens: TokenVerifier | None = None,
) -> ServiceApi:
    """The application of `service` (e.g. "orchestrator") on the runtime's database and bus."""
    return build_service_api(
        context.store.engine,
        context.bus,
        service=service,
        description=description,
        settings=settings,
        tokens=tokens,
    )


def build_service_api(
    engine: AsyncEngine,
    bus: MessageBus | None,
    *,
    service: str,
    description: str,
    settings: HttpSettings | None = None,
    keys: ApiKeys | None = None,
    tokens: TokenVerifier | None = None,
    clock: Clock = time.monotonic,
) -> ServiceApi:
    """The same without a runtime: on `engine` and `bus` (None: the service uses no bus),
    with the `ApiKeys` to authenticate with and the rate limiter's `clock` if given."""
    settings = settings or HttpSettings()
    app = FastAPI(title=f"flowbus {service}", version="1", description=description)
    install_problem_handlers(app)

    # add_middleware puts each one outside those added before: innermost first.
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=_CORS_HEADERS,
            expose_headers=_CORS_EXPOSED,
            allow_credentials=False,  # bearer credentials, never cookies
            max_age=600,
        )
    docs = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    app.add_middleware(SecurityHeaders, docs_paths=[path for path in docs if path])
    app.add_middleware(ObserveRequests, service=service)

    limiter = (
        RateLimiter(settings.api_rate_limit_per_second, settings.api_rate_limit_burst, clock=clock)
        if settings.api_rate_limit_per_second > 0
        else None
    )
    identity = IdentitySettings()
    keys = keys or ApiKeys(engine, cache_seconds=identity.credential_cache_seconds)
    # JWTs are accepted when FLOWBUS_JWT_SECRET is set (jwt_verifier gives None otherwise).
    tokens = tokens or jwt_verifier(engine, identity)
    auth = Authenticator(keys, tokens=tokens, limiter=limiter)
    api = ServiceApi(app, auth)
    app.include_router(health_router(service, Readiness(engine, bus, service=service), api.about))
    # A server span per request (route template as its name, the caller's traceparent as parent),
    # outermost so it covers the middleware; probes and scrapes are left out.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="healthz,readyz,version,metrics", exclude_spans=["receive", "send"]
    )
    return api
