"""Runs the six workloads against DBOS Transact and writes a list of WorkloadResult.

DBOS is a library, so "the engine" is our DBOS application (app.py: FastAPI + uvicorn with DBOS in-process,
its system database in the project's PostgreSQL on 127.0.0.1:55432, database `bench_dbos`, dropped and
created afresh each run). This runner starts that app as a separate OS process, drives it over loopback
HTTP, SIGKILLs and restarts it for the crash workload, and stops it on exit, failure included.

Usage (with the DBOS venv's python, after install.sh):
  .local/peers/dbos/venv/bin/python tests/bench/peers/dbos/run.py --out FILE.json [--quick] [--workloads a,b]
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

# Appended, not inserted first: tests/bench/peers holds this folder, also named `dbos`, which must not
# shadow the dbos library.
sys.path.append(str(Path(__file__).resolve().parents[1]))
import common  # the shared helpers, imported by path (see common.py)
from workloads import WORKLOADS, Bench

HERE = Path(__file__).resolve().parent
WORK = common.WORK / "dbos"
PG_ADMIN_DSN = "postgresql://flowbus@127.0.0.1:55432/flowbus"
DATABASE = "bench_dbos"
DATABASE_URL = f"postgresql://flowbus@127.0.0.1:55432/{DATABASE}"
APP_PORT = 17380
STARTUP_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 15.0
PR_SET_PDEATHSIG = 1


def recreate_database() -> None:
    for statement in (f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)', f'CREATE DATABASE "{DATABASE}"'):
        subprocess.run(
            [common.PSQL, PG_ADMIN_DSN, "-qc", statement], check=True, capture_output=True, text=True
        )


def die_with_parent() -> None:
    """In the child before exec: the kernel SIGKILLs the app if this runner dies, even by SIGKILL."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class AppProcess:
    """The DBOS application as an OS process this runner owns: started, SIGKILLed, restarted, stopped."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.step_record = run_dir / "steps.log"
        self.fail_flag = run_dir / "fail-step.flag"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def spawn(self) -> None:
        command = [sys.executable, str(HERE / "app.py"), "--port", str(APP_PORT)]
        command += ["--database-url", DATABASE_URL, "--step-record", str(self.step_record)]
        command += ["--fail-flag", str(self.fail_flag)]
        with (self.run_dir / "app.log").open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=HERE, preexec_fn=die_with_parent
            )

    async def wait_ready(self, http: httpx.AsyncClient) -> str:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the DBOS app exited with {self.process.returncode}; see app.log")
            try:
                response = await http.get("/health")
                if response.status_code == 200:
                    return str(response.json()["version"])
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)  # polling for the port to open
        raise RuntimeError(f"the DBOS app did not answer within {STARTUP_TIMEOUT_SECONDS} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()


async def run_all(out: Path, sizes: common.Sizes, names: list[str], app: AppProcess) -> None:
    for stale in ("steps.log", "fail-step.flag", "app.log"):
        (app.run_dir / stale).unlink(missing_ok=True)
    recreate_database()
    # Idle connections expire before uvicorn's 5 s keep-alive closes them, so none is reused as it closes.
    limits = httpx.Limits(max_connections=4096, max_keepalive_connections=512, keepalive_expiry=2.0)
    results: list[common.WorkloadResult] = []
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{APP_PORT}", timeout=600.0, limits=limits
    ) as http:
        try:
            app.spawn()
            version = await app.wait_ready(http)
            bench = Bench(http=http, app=app, sizes=sizes, version=version, database_url=DATABASE_URL)
            for name in names:
                began = time.monotonic()
                print(f"dbos: {name} ...", flush=True)
                results.append(await WORKLOADS[name](bench))
                print(f"dbos: {name} done in {time.monotonic() - began:.1f} s", flush=True)
                common.write_results(out, results)  # partial results survive a later failure
        finally:
            app.stop()
    common.write_results(out, results)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="short windows and small counts (development)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, run in this order")
    options = parser.parse_args()
    names = [name.strip() for name in options.workloads.split(",") if name.strip()]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {list(WORKLOADS)}")
    sizes = common.Sizes.quick() if options.quick else common.Sizes()
    run_dir = WORK / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    app = AppProcess(run_dir)
    # A SIGTERM to the runner unwinds like an exception, so the finally below stops the app.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        asyncio.run(run_all(options.out, sizes, names, app))
    finally:
        app.stop()


if __name__ == "__main__":
    main()
