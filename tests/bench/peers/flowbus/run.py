"""flowbus's runner of the side-by-side benchmark (issue 10).

    .venv/bin/python -m tests.bench.peers.flowbus.run --out FILE.json [--quick] [--workloads linear,fanout]

Needs Kafka (127.0.0.1:19092) and PostgreSQL (127.0.0.1:55432) running (`make kafka-up pg-up`); it
leaves them running. It makes a fresh database and fresh topics, starts `flowbus serve orchestrator`
and `flowbus serve executor`, registers the six workflows (workflows.py), runs the chosen workloads
in order, and stops and removes everything it started, also on failure. Service logs stay in
.local/peers/flowbus/<time>/. Nothing to install: flowbus runs from /work/main/.venv."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

from tests.bench.peers.common import Sizes, WorkloadResult, write_results
from tests.bench.peers.flowbus.system import bench_system
from tests.bench.peers.flowbus.workflows import all_workflows
from tests.bench.peers.flowbus.workloads import WORKLOADS

log = logging.getLogger("bench.flowbus")


async def run(names: list[str], sizes: Sizes, out: Path) -> list[WorkloadResult]:
    results: list[WorkloadResult] = []
    async with bench_system() as system:
        for definition in all_workflows(system.counter_url):
            await system.register(definition)
        for name in names:
            began = time.perf_counter()
            log.info("%s: running", name)
            figure = await WORKLOADS[name](system, sizes)
            figure.metrics["wall_seconds"] = round(time.perf_counter() - began, 2)
            log.info("%s: %s", name, figure.metrics)
            results.append(figure)
            write_results(out, results)  # what is done so far survives a later failure
        errors = system.e2e.errors_logged()
        if errors:
            log.warning("the services logged %d errors, e.g. %s", len(errors), errors[:3])
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the results file (JSON)")
    parser.add_argument("--quick", action="store_true", help="short durations and small counts")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, run in this order")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.workloads.split(",") if name.strip()]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads: {', '.join(unknown)} (known: {', '.join(WORKLOADS)})")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sizes = Sizes.quick() if args.quick else Sizes()
    began = time.perf_counter()
    asyncio.run(run(names, sizes, args.out))
    log.info("done in %.1f s; results in %s", time.perf_counter() - began, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
