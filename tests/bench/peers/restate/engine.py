"""Start, register, kill and stop Restate for the benchmark: restate-server (one node, all roles, its data
under .local/peers/restate/) and the Python SDK's service endpoint under hypercorn, both on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import CRASH_STEP_SECONDS, WORK

HERE = Path(__file__).resolve().parent
HOME = WORK / "restate"
VENV = HOME / "venv"
SERVER_BIN = HOME / "node_modules" / "@restatedev" / "restate-server-linux-x64" / "bin" / "restate-server"
DATA = HOME / "data"
LOGS = HOME / "logs"
STEP_RECORD = HOME / "steps.log"
FAIL_FLAG = HOME / "fail-step-6"

HOST = "127.0.0.1"
INGRESS = f"http://{HOST}:18080"
ADMIN = f"http://{HOST}:19070"
NODE_PORT = 15122
SERVICE_PORT = 19080
SERVICE_URI = f"http://{HOST}:{SERVICE_PORT}"

CONFIG = f"""\
node-name = "bench"
cluster-name = "flowbus-bench"
base-dir = "{DATA}"
bind-address = "{HOST}:{NODE_PORT}"
advertised-address = "http://{HOST}:{NODE_PORT}/"
listen-mode = "tcp"
disable-telemetry = true
log-format = "compact"
log-disable-ansi-codes = true

[admin]
bind-address = "{HOST}:19070"
advertised-admin-endpoint = "{ADMIN}/"
disable-web-ui = true

[ingress]
bind-address = "{HOST}:18080"
advertised-ingress-endpoint = "{INGRESS}/"
"""


def http_json(method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 30.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("content-type", "application/json")
    request.add_header("accept", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def wait_until_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2.0):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            if isinstance(error, urllib.error.HTTPError):
                return  # something answered: it is listening
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not come up in {timeout:.0f} s") from error
            time.sleep(0.1)  # polling a port that is not open yet


def hypercorn_worker(master: int) -> int:
    """hypercorn serves from a spawned worker process, even with one worker: that one runs the steps."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == master and b"spawn_main" in cmdline:
            return int(stat.parent.name)
    raise RuntimeError("hypercorn's worker process was not found")


class Restate:
    """The engine's processes; `stop()` (or the context manager's exit) leaves none behind."""

    def __init__(self) -> None:
        self.server: subprocess.Popen[bytes] | None = None
        self.service: subprocess.Popen[bytes] | None = None
        self.version = ""

    def __enter__(self) -> Restate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- processes ---
    def start(self, fresh: bool = True) -> None:
        if fresh:
            subprocess.run(["rm", "-rf", str(DATA)], check=True)
            STEP_RECORD.unlink(missing_ok=True)
            FAIL_FLAG.unlink(missing_ok=True)
        LOGS.mkdir(parents=True, exist_ok=True)
        # The service endpoint first, so restate-server's first attempts after a restart find it up.
        self.start_service()
        self.start_server()
        if fresh:
            self.register()
        self.version = http_json("GET", f"{ADMIN}/version")["version"]

    def start_service(self) -> None:
        env = dict(
            os.environ,
            BENCH_STEP_RECORD=str(STEP_RECORD),
            BENCH_FAIL_FLAG=str(FAIL_FLAG),
            BENCH_CRASH_STEP_SECONDS=str(CRASH_STEP_SECONDS),
        )
        command = [str(VENV / "bin" / "hypercorn"), "services:app", "--bind", f"{HOST}:{SERVICE_PORT}"]
        self.service = self._spawn(command, "service.log", env, cwd=HERE)
        wait_until_up(f"{SERVICE_URI}/health")

    def start_server(self) -> None:
        config = HOME / "restate.toml"
        config.write_text(CONFIG)
        command = [str(SERVER_BIN), "--config-file", str(config), "--no-logo"]
        self.server = self._spawn(command, "server.log", dict(os.environ), cwd=HOME)
        wait_until_up(f"{ADMIN}/health")
        wait_until_up(f"{INGRESS}/restate/health")

    def _spawn(self, command: list[str], log: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
        with (LOGS / log).open("ab") as out:
            # Own session: SIGKILL of the group reaches hypercorn's worker and resource tracker too.
            return subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
            )

    def register(self) -> None:
        http_json("POST", f"{ADMIN}/deployments", {"uri": SERVICE_URI, "force": True})

    def pids(self) -> dict[str, int]:
        """The engine's processes for ProcessMeter (the load client, this process, is not one)."""
        assert self.server is not None
        assert self.service is not None
        return {
            "restate-server": self.server.pid,
            "sdk-service (hypercorn worker)": hypercorn_worker(self.service.pid),
        }

    def alive(self) -> bool:
        return all(p is not None and p.poll() is None for p in (self.server, self.service))

    def kill(self) -> None:
        """SIGKILL restate-server and the service endpoint (all their processes), as a crash would."""
        for process in (self.server, self.service):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop(self) -> None:
        for process in (self.server, self.service):
            if process is None or process.poll() is not None:
                continue
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for process in (self.server, self.service):  # a group may outlive its leader
            if process is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
        self.server = self.service = None
