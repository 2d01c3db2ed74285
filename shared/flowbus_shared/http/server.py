"""An ASGI app served by uvicorn inside a flowbus service's own event loop, started and
stopped with the service (port 0 picks a free port; `port` tells which)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import uvicorn
from fastapi import FastAPI

log = logging.getLogger("flowbus.http")


class HttpServer:
    def __init__(self, app: FastAPI, host: str, port: int, *, name: str) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="none",  # the service's loop (uvloop when the CLI installed it)
            http="httptools",
            timeout_graceful_shutdown=5,
            server_header=False,  # no "server: uvicorn": nothing to fingerprint
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None
        self._name = name
        self.port = port

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():  # e.g. the port is taken (uvicorn exits, having logged why)
                with contextlib.suppress(SystemExit):
                    await self._task
                where = f"{self._server.config.host}:{self._server.config.port}"
                raise RuntimeError(f"{self._name}: could not serve HTTP on {where}")
            await asyncio.sleep(0.01)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = sockets[0].getsockname()[1] if sockets else self.port
        log.info("%s: HTTP API on %s:%s", self._name, self._server.config.host, self.port)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
