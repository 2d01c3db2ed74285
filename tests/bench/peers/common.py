"""What every engine's runner shares: the workload sizes, open-loop load, percentiles, per-process CPU and
peak RSS from /proc, PostgreSQL commit counts, and the result file.

Standard library only: each peer's runner runs in that peer's own virtualenv (its SDK's dependencies
never meet flowbus's) and imports this file by path."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
WORK = REPO / ".local" / "peers"  # installs and logs; never committed

# The workloads, the same for every engine (--quick shrinks durations and counts for development).
LINEAR_STEPS = 10
FAN_OUT = 20
TIMER_EXECUTIONS = 1000
TIMER_SECONDS = 1.0
APPROVALS = 200
CRASH_EXECUTIONS = 200
CRASH_STEP_SECONDS = 0.05
FORK_EXECUTIONS = 100
FORK_AT_STEP = 5  # 1-based: steps 1-4 are copied, step 5 onwards runs again
WARMUP_SECONDS = 5.0
MEASURE_SECONDS = 20.0
SATURATION_CONCURRENCY = 64


@dataclass
class Sizes:
    warmup: float = WARMUP_SECONDS
    measure: float = MEASURE_SECONDS
    timers: int = TIMER_EXECUTIONS
    approvals: int = APPROVALS
    crash: int = CRASH_EXECUTIONS
    forks: int = FORK_EXECUTIONS

    @classmethod
    def quick(cls) -> Sizes:
        return cls(warmup=1.0, measure=4.0, timers=100, approvals=20, crash=20, forks=10)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    return {
        "count": len(seconds),
        "p50_ms": percentile(seconds, 0.50) * 1000,
        "p99_ms": percentile(seconds, 0.99) * 1000,
    }


async def closed_loop(run_one: Callable[[], Awaitable[Any]], concurrency: int, sizes: Sizes) -> float:
    """Saturation: `concurrency` clients each start the next execution when the last completes.
    Returns executions completed per second over the measured window (after the warm-up)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from, measure_to = start + sizes.warmup, start + sizes.warmup + sizes.measure
    completed = 0

    async def client() -> None:
        nonlocal completed
        while loop.time() < measure_to:
            await run_one()
            if measure_from <= loop.time() <= measure_to:
                completed += 1

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return completed / sizes.measure


async def open_loop(run_one: Callable[[], Awaitable[Any]], rate: float, sizes: Sizes) -> list[float]:
    """Arrivals at a fixed `rate` per second whether or not earlier ones finished (open loop).
    Returns the latency of each execution started in the measured window, in seconds."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + sizes.warmup
    total = int((sizes.warmup + sizes.measure) * rate)
    latencies: list[float] = []

    async def timed(measured: bool) -> None:
        began = time.perf_counter()
        await run_one()
        if measured:
            latencies.append(time.perf_counter() - began)

    tasks = []
    for index in range(total):
        due = start + index / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing the arrivals, not synchronisation
        tasks.append(asyncio.create_task(timed(due >= measure_from)))
    await asyncio.gather(*tasks)
    return latencies


CURVE_FRACTIONS = (0.25, 0.5, 0.75, 0.9)  # of the saturation rate: the plot's points


async def latency_curve(
    run_one: Callable[[], Awaitable[Any]], saturation_per_s: float, sizes: Sizes
) -> tuple[list[float], list[dict[str, float]]]:
    """Open-loop latency at several fractions of saturation: the latencies at 50% (measured with
    the full window, for the table) and a point per fraction (shorter windows elsewhere)."""
    short = Sizes(warmup=min(sizes.warmup, 2.0), measure=min(sizes.measure, 8.0))
    at_half: list[float] = []
    curve = []
    for fraction in CURVE_FRACTIONS:
        rate = saturation_per_s * fraction
        if rate <= 0:
            continue
        latencies = await open_loop(run_one, rate, sizes if fraction == 0.5 else short)
        if fraction == 0.5:
            at_half = latencies
        curve.append({"fraction": fraction, "rate_per_s": rate, **latency_summary(latencies)})
    return at_half, curve


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (and its reaped children) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class ProcessMeter:
    """CPU seconds used between `start()` and `stop()`, and peak RSS, of named processes."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._before: dict[str, float] = {}

    def start(self) -> None:
        self._before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self, steps: int) -> dict[str, dict[str, float]]:
        figures: dict[str, dict[str, float]] = {}
        for name, pid in self.pids.items():
            used = cpu_seconds(pid) - self._before[name]
            figures[name] = {
                "cpu_s_per_1000_steps": used / max(steps, 1) * 1000,
                "peak_rss_mb": peak_rss_mb(pid),
            }
        return figures


PSQL = "psql"


def pg_commits(dsn: str) -> int:
    """Transactions committed in the database `dsn` names, so far (pg_stat_database). Read-only ones
    count too, and so does each statement run outside a transaction."""
    return _pg_counter(dsn, "select xact_commit from pg_stat_database where datname = current_database()")


def pg_wal_syncs(dsn: str) -> int:
    """WAL flushes to disk by the whole server so far (pg_stat_wal.wal_sync): what durable commits
    cost, as PostgreSQL groups concurrent commits into one flush. Only the engine under test may
    write meanwhile."""
    return _pg_counter(dsn, "select wal_sync from pg_stat_wal")


def _pg_counter(dsn: str, query: str) -> int:
    # The statistics collector reports with a delay; force a fresh snapshot first.
    out = subprocess.run(
        [PSQL, dsn, "-Atc", f"select pg_stat_clear_snapshot(); {query}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[-1])


@dataclass
class WorkloadResult:
    engine: str
    version: str
    workload: str  # linear, fanout, timers, approval, crash, fork
    metrics: dict[str, Any] = field(default_factory=dict)
    processes: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> cpu/1000 steps, rss
    db_commits_per_step: float | None = None
    notes: str = ""
    db_wal_syncs_per_step: float | None = (
        None  # WAL flushes of the server per step (last: runners pass the rest by position)
    )


def write_results(path: Path, results: Sequence[WorkloadResult]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
