"""The Temporal worker process for the benchmark: runs the workflows and activities of bench_workflows on one
task queue until it is terminated (or SIGKILLed by the crash workload)."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

import bench_activities
from bench_workflows import ALL_ACTIVITIES, ALL_WORKFLOWS
from temporalio.client import Client
from temporalio.worker import Worker


async def connect(address: str) -> Client:
    """The dev server may still be starting (or restarting after the crash workload's kill)."""
    async with asyncio.timeout(60):
        while True:
            try:
                return await Client.connect(address)
            except RuntimeError:
                await asyncio.sleep(0.1)  # retry pacing while the server comes up


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--fail-flag", type=Path, required=True)
    args = parser.parse_args()
    bench_activities.configure(args.record, args.fail_flag)
    client = await connect(args.address)
    worker = Worker(client, task_queue=args.task_queue, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with worker:
        print("worker ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
