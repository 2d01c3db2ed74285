"""Restate's runner: `run.py --out FILE.json [--quick] [--workloads linear,fanout,...]`.

Run it with Restate's own venv (.local/peers/restate/venv/bin/python, made by install.sh). It starts
restate-server and the SDK service endpoint on loopback, registers the deployment, runs the workloads in
order and stops everything it started, also on failure.

It runs in a private network namespace (only loopback): restate-server asks GitHub for its latest release
at every start and has no setting to turn that off, and this benchmark sends traffic to loopback only."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # common.py
sys.path.insert(0, str(HERE))

from common import Sizes, WorkloadResult, write_results  # noqa: E402
from engine import Restate  # noqa: E402
from workloads import ENGINE, WORKLOADS  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the results (JSON)")
    parser.add_argument("--quick", action="store_true", help="short windows and small counts")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, run in order")
    args = parser.parse_args(argv)
    unknown = [name for name in args.workloads.split(",") if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; known: {', '.join(WORKLOADS)}")
    return args


async def run_all(engine: Restate, names: list[str], sizes: Sizes) -> list[WorkloadResult]:
    results = []
    for name in names:
        began = time.perf_counter()
        print(f"[restate] {name} ...", flush=True)
        try:
            result = await WORKLOADS[name](engine, sizes)
        except Exception as error:  # noqa: BLE001 - one workload's failure is reported, the rest run
            traceback.print_exc()
            result = WorkloadResult(ENGINE, engine.version, name, notes=f"failed: {error!r}")
            if not engine.alive():
                engine.stop()
                engine.start()
        print(f"[restate] {name} done in {time.perf_counter() - began:.1f} s: {result.metrics}", flush=True)
        results.append(result)
    return results


PRIVATE_NETWORK = "FLOWBUS_BENCH_RESTATE_PRIVATE_NETWORK"


def reexec_in_private_network(argv: list[str]) -> None:
    """Replace this process by itself inside a new network namespace whose only interface is loopback."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        raise SystemExit(
            "restate runner: needs unshare and ip (util-linux, iproute2) for a loopback-only network"
        )
    env = dict(os.environ, **{PRIVATE_NETWORK: "1"})
    script = 'ip link set lo up && exec "$0" "$@"'
    command = ["unshare", "--net", "--", "sh", "-c", script, sys.executable, __file__, *argv]
    os.execvpe("unshare", command, env)


def main(argv: list[str]) -> int:
    if os.environ.get(PRIVATE_NETWORK) != "1":
        reexec_in_private_network(argv)  # does not return
    args = parse_args(argv)
    sizes = Sizes.quick() if args.quick else Sizes()

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # unwinds through the engine's context manager, which stops it

    signal.signal(signal.SIGTERM, terminate)
    with Restate() as engine:
        engine.start()
        results = asyncio.run(run_all(engine, args.workloads.split(","), sizes))
    write_results(args.out, results)
    print(f"[restate] wrote {args.out}", flush=True)
    return 0 if all(not r.notes.startswith("failed") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
