"""The processes of the Temporal peer: the dev server (`temporal server start-dev`, one process, SQLite file
under .local/peers/temporal/) and one Python worker process. Started, SIGKILLed and restarted by pid only."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from asyncio.subprocess import Process
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from temporalio.client import Client

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from common import WORK  # noqa: E402

TARGET = WORK / "temporal"
BINARY = TARGET / "bin" / "temporal"
VENV_PYTHON = TARGET / "venv" / "bin" / "python"
HOST, FRONTEND_PORT = "127.0.0.1", 17233
ADDRESS = f"{HOST}:{FRONTEND_PORT}"
START_TIMEOUT = 90.0
# The dev server opens its SQLite file in rollback-journal mode (two fsyncs per commit), which on this disk
# made it I/O-bound at a fifth of its throughput. WAL with synchronous=FULL still fsyncs every commit (as
# durable as PostgreSQL's default), so the benchmark uses it unless run.py --sqlite-as-shipped.
WAL_PRAGMAS = ("--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=full")


def cli_version() -> str:
    """E.g. `temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)`."""
    out = subprocess.run([str(BINARY), "--version"], check=True, capture_output=True, text=True).stdout
    return out.strip()


def sdk_version() -> str:
    from importlib.metadata import version

    return version("temporalio")


async def connect(server: Process) -> Client:
    async with asyncio.timeout(START_TIMEOUT):
        while True:
            try:
                client = await Client.connect(ADDRESS)
                await client.service_client.check_health()
                return client
            except RuntimeError:
                if server.returncode is not None:
                    raise RuntimeError(f"temporal dev server exited with {server.returncode}") from None
                await asyncio.sleep(0.1)  # retry pacing while the server comes up


async def end_process(process: Process, grace: float) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            process.kill()
            await process.wait()


class TemporalStack:
    """Server and worker; `stop()` ends whatever is still running (also after a failure)."""

    def __init__(self, task_queue: str, server_args: Sequence[str] = ()) -> None:
        self.task_queue = task_queue
        self.server_args = list(server_args)
        self.db_file = TARGET / "bench.db"
        self.record = TARGET / "steps.log"
        self.fail_flag = TARGET / "fail-step-6.flag"
        self.logs = TARGET / "logs"
        self.server: Process | None = None
        self.worker: Process | None = None
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        """The connection to the running server (a new one after the crash workload's restart)."""
        assert self._client is not None, "server not started"
        return self._client

    def reset_state(self) -> None:
        """A fresh database and side record for a run (the crash workload keeps them across its restart)."""
        for path in (self.db_file, self.record, self.fail_flag):
            path.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{self.db_file}{suffix}").unlink(missing_ok=True)

    def pids(self) -> dict[str, int]:
        assert self.server is not None
        assert self.worker is not None
        return {"temporal-dev-server": self.server.pid, "python-worker": self.worker.pid}

    async def start(self) -> None:
        self._client = await self.start_server()
        await self.start_worker()

    def _log(self, name: str) -> BinaryIO:
        self.logs.mkdir(parents=True, exist_ok=True)
        return open(self.logs / name, "ab")

    async def start_server(self) -> Client:
        command = [
            str(BINARY),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            HOST,
            "--port",
            str(FRONTEND_PORT),
        ]
        command += ["--db-filename", str(self.db_file), "--log-level", "warn", *self.server_args]
        with self._log("server.log") as log:
            self.server = await asyncio.create_subprocess_exec(
                *command, stdout=log, stderr=log, start_new_session=True
            )
        return await connect(self.server)

    async def start_worker(self) -> None:
        command = [str(VENV_PYTHON), str(HERE / "worker.py"), "--address", ADDRESS]
        command += ["--task-queue", self.task_queue, "--record", str(self.record)]
        command += ["--fail-flag", str(self.fail_flag)]
        with self._log("worker.log") as log:
            self.worker = await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.PIPE, stderr=log, start_new_session=True
            )
        assert self.worker.stdout is not None
        line = await asyncio.wait_for(self.worker.stdout.readline(), START_TIMEOUT)
        if not line.startswith(b"worker ready"):
            raise RuntimeError(f"worker did not start (see {self.logs / 'worker.log'})")

    async def kill(self) -> None:
        """The crash workload: SIGKILL the dev server and the worker together, and reap them."""
        processes = [p for p in (self.worker, self.server) if p is not None]
        for process in processes:
            process.send_signal(signal.SIGKILL)
        for process in processes:
            await process.wait()
        self.worker = self.server = None
        self._client = None

    async def stop(self) -> None:
        if self.worker is not None:
            await end_process(self.worker, grace=10)
            self.worker = None
        if self.server is not None:
            await end_process(self.server, grace=15)
            self.server = None

    def stop_now(self) -> None:
        """Last resort (interpreter exit after a failure): SIGKILL by pid whatever is still ours."""
        for process in (self.worker, self.server):
            if process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
