"""Runs the six peer workloads on Temporal (dev server + Python SDK worker) and writes the results.

    .local/peers/temporal/venv/bin/python tests/bench/peers/temporal/run.py --out FILE.json [--quick]
        [--workloads linear,fanout,timers,approval,crash,fork]

Installs nothing: run install.sh first. Starts the dev server (127.0.0.1:17233, UI off, a fresh SQLite file
under .local/peers/temporal/) and one worker process, and stops both on the way out, also on failure."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import recovery
import workloads
from common import Sizes, WorkloadResult, write_results
from stack import BINARY, VENV_PYTHON, WAL_PRAGMAS, TemporalStack, cli_version, sdk_version
from temporalio.client import Client

Workload = Callable[[Client, TemporalStack, str, Sizes], Awaitable[WorkloadResult]]
WORKLOADS: dict[str, Workload] = {
    "linear": workloads.linear,
    "fanout": workloads.fanout,
    "timers": workloads.timers,
    "approval": workloads.approval,
    "crash": recovery.crash,
    "fork": recovery.fork,
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="short windows and small counts (development)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument(
        "--sqlite-as-shipped",
        action="store_true",
        help="keep the dev server's own SQLite pragmas (rollback journal) instead of WAL + synchronous=full",
    )
    args = parser.parse_args()
    chosen = [name.strip() for name in args.workloads.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {', '.join(WORKLOADS)}")
    args.chosen = chosen
    return args


async def run(chosen: list[str], sizes: Sizes, out: Path, server_args: tuple[str, ...]) -> None:
    stack = TemporalStack(task_queue=f"bench-{uuid.uuid4().hex[:8]}", server_args=server_args)
    atexit.register(stack.stop_now)
    main_task = asyncio.current_task()
    assert main_task is not None
    for signum in (signal.SIGTERM, signal.SIGINT):  # cancelled, so the finally below stops the engine
        asyncio.get_running_loop().add_signal_handler(signum, main_task.cancel)
    version = f"{cli_version()}; Python SDK temporalio {sdk_version()}"
    sqlite_mode = "SQLite " + (
        " ".join(server_args[1::2]) if server_args else "as shipped (rollback journal)"
    )
    results: list[WorkloadResult] = []
    stack.reset_state()
    try:
        await stack.start()
        client = stack.client
        for name in chosen:
            began = time.perf_counter()
            print(f"temporal: {name} ...", file=sys.stderr, flush=True)
            result = await WORKLOADS[name](client, stack, version, sizes)
            # The crash workload restarts the server: later workloads need the new connection.
            client = stack.client
            result.metrics["workload_wall_s"] = round(time.perf_counter() - began, 1)
            result.notes = f"{sqlite_mode}; {result.notes}"
            results.append(result)
            write_results(out, results)  # partial results survive a later failure
            print(f"temporal: {name} done: {result.metrics}", file=sys.stderr, flush=True)
    finally:
        await stack.stop()
    write_results(out, results)


def main() -> None:
    args = parse_args()
    if not BINARY.exists() or not VENV_PYTHON.exists():
        sys.exit(f"Temporal peer not installed: run bash {Path(__file__).parent / 'install.sh'}")
    sizes = Sizes.quick() if args.quick else Sizes()
    server_args = () if args.sqlite_as_shipped else WAL_PRAGMAS
    try:
        asyncio.run(run(args.chosen, sizes, args.out, server_args))
    except asyncio.CancelledError:  # SIGTERM/SIGINT: the engine was stopped on the way out
        sys.exit("temporal: interrupted; dev server and worker stopped")


if __name__ == "__main__":
    main()
