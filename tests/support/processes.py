"""Services as real OS processes (`flowbus serve ...`), for crash and end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from flowbus_shared.settings import FlowbusSettings

FLOWBUS = Path(sys.executable).with_name("flowbus")


def service_env(settings: FlowbusSettings, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOWBUS_")}
    env.update(
        {
            "FLOWBUS_BUS": settings.bus,
            "FLOWBUS_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
            "FLOWBUS_TOPIC_PREFIX": settings.topic_prefix,
            "FLOWBUS_CONSUMER_GROUP_PREFIX": settings.consumer_group_prefix,
            "FLOWBUS_TOPIC_PARTITIONS": str(settings.topic_partitions),
            "FLOWBUS_DATABASE_URL": settings.database_url,
            "FLOWBUS_LOG_LEVEL": "INFO",
            "OTEL_TRACES_EXPORTER": "none",
        }
    )
    env.update(extra)
    return env


class ServiceProcess:
    def __init__(self, service: str, env: dict[str, str], log: Path) -> None:
        self.service = service
        self.env = env
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        handle = self.log.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            str(FLOWBUS), "serve", self.service, env=self.env, stdout=handle, stderr=handle
        )
        handle.close()

    async def wait_started(self, within: float = 60.0) -> None:
        """Until the process logs that it runs (its consumers have joined by then)."""
        deadline = asyncio.get_running_loop().time() + within
        while "started:" not in self.log.read_text(errors="replace"):
            if self.process is not None and self.process.returncode is not None:
                raise AssertionError(f"{self.service} exited early:\n{self.log.read_text()[-3000:]}")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self.service} did not start:\n{self.log.read_text()[-3000:]}")
            await asyncio.sleep(0.05)

    async def wait_exit(self, within: float = 60.0) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout=within)

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), timeout=20)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
