"""Event-store appends on PostgreSQL: one event per transaction, sequential and concurrent,
and 100 streams in one transaction (the batched path)."""

from __future__ import annotations

import asyncio
import time
import uuid

from flowbus_shared.store import Append, NewEvent, SqlEventStore
from tests.bench.stats import percentile

EVENT = NewEvent("step.succeeded", {"step_id": "s", "attempt": 1, "output": {"ok": True, "n": 42}})


async def appends(store: SqlEventStore, count: int, writers: int) -> dict[str, float]:
    latencies: list[float] = []

    async def writer(index: int) -> None:
        stream = f"bench-{uuid.uuid4().hex}-{index}"
        for version in range(count // writers):
            started = time.perf_counter()
            await store.append(stream, version, [EVENT])
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(writer(i) for i in range(writers)))
    elapsed = time.perf_counter() - started
    return {
        "per_s": len(latencies) / elapsed,
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
    }


async def batched(store: SqlEventStore, batches: int, size: int = 100) -> dict[str, float]:
    started = time.perf_counter()
    for _ in range(batches):
        await store.append_many([Append(f"bench-{uuid.uuid4().hex}", 0, [EVENT]) for _ in range(size)])
    return {"per_s": batches * size / (time.perf_counter() - started)}
