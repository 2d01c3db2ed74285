"""The routes every service answers without authentication: liveness, readiness, version and
Prometheus metrics.

- `/healthz`: the process serves HTTP (no I/O: a liveness probe must not fail because a
  dependency is down, or every pod restarts at once).
- `/readyz`: the database answers `SELECT 1` and the bus its readiness check, each within a
  short timeout; 503 naming what is down otherwise. Answers are shared for a second, so a
  flood of probes costs the database and Kafka one check a second.
- `/version`: the service, flowbus' version, Python's, and what the service adds (`about`).
- `/metrics`: Prometheus text: the HTTP metrics and every metric of flowbus_shared.metrics
  (executions, step durations, retries, dead letters, consumer lag, LLM spend, verdicts).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import platform
import time
from collections.abc import Mapping

import sqlalchemy as sa
from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_shared.bus.port import MessageBus
from flowbus_shared.http import metrics
from flowbus_shared.http.problems import problem_response

log = logging.getLogger("flowbus.http")

CHECK_TIMEOUT_SECONDS = 2.0
CACHE_SECONDS = 1.0
OK = "ok"


def flowbus_version() -> str:
    try:
        return importlib.metadata.version("flowbus")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree without installing
        return "unknown"


class Readiness:
    def __init__(
        self,
        engine: AsyncEngine | None,
        bus: MessageBus | None,
        *,
        service: str,
        timeout: float = CHECK_TIMEOUT_SECONDS,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self._engine = engine
        self._bus = bus
        self._service = service
        self._timeout = timeout
        self._cache_seconds = cache_seconds
        self._lock = asyncio.Lock()
        self._last: tuple[float, dict[str, str]] | None = None

    async def checks(self) -> dict[str, str]:
        """Each dependency -> "ok" or why it is not."""
        async with self._lock:  # concurrent probes wait for one check rather than each making one
            if self._last is not None and time.monotonic() - self._last[0] < self._cache_seconds:
                return self._last[1]
            database, bus = await asyncio.gather(self._database(), self._bus_state())
            found = {
                name: state for name, state in (("database", database), ("bus", bus)) if state is not None
            }
            self._last = (time.monotonic(), found)
            return found

    async def _database(self) -> str | None:
        if self._engine is None:
            return None
        try:
            async with asyncio.timeout(self._timeout):
                async with self._engine.connect() as conn:
                    await conn.execute(sa.text("SELECT 1"))
        except TimeoutError:
            log.warning(
                "%s: not ready: the database did not answer within %g s", self._service, self._timeout
            )
            return f"did not answer within {self._timeout:g} s"
        except Exception as error:  # noqa: BLE001 - any failure means not ready; the log says which
            log.warning("%s: not ready: database: %s: %s", self._service, type(error).__name__, error)
            return "unreachable"
        return OK

    async def _bus_state(self) -> str | None:
        if self._bus is None:
            return None
        try:
            problem = await self._bus.ready(within_seconds=self._timeout)
        except Exception as error:  # noqa: BLE001
            log.warning("%s: not ready: bus: %s: %s", self._service, type(error).__name__, error)
            return "unreachable"
        if problem is not None:
            log.warning("%s: not ready: %s", self._service, problem)
        return OK if problem is None else problem


def health_router(service: str, readiness: Readiness, about: Mapping[str, str]) -> APIRouter:
    router = APIRouter(tags=["health"])
    versions = {"service": service, "flowbus": flowbus_version(), "python": platform.python_version()}

    @router.get("/healthz", summary="Liveness: the process serves HTTP")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: the database and the message bus answer",
        responses={503: {"description": "a dependency is down; the problem names it"}},
        response_model=None,
    )
    async def readyz() -> dict[str, object] | Response:
        checks = await readiness.checks()
        down = {name: state for name, state in checks.items() if state != OK}
        if down:
            reason = "; ".join(f"{name}: {state}" for name, state in down.items())
            return problem_response(503, f"not ready: {reason}", code="not_ready", extra={"checks": checks})
        return {"status": "ready", "checks": checks}

    @router.get("/version", summary="The service and the versions it runs")
    async def version() -> dict[str, str]:
        return {**versions, **about}

    @router.get("/metrics", summary="Prometheus metrics of this process", response_class=Response)
    async def prometheus() -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    return router
