"""The steps of the benchmark's workflows, as Temporal activities run by the worker process.

`configure()` is called once by the worker: where counted steps append their side record (a file opened with
O_APPEND, so each line lands whole and survives a SIGKILL of the worker) and which file, while it exists,
makes the fork workload's step 6 fail."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

_record_path: Path | None = None
_fail_flag: Path | None = None


def configure(record_path: Path, fail_flag: Path) -> None:
    global _record_path, _fail_flag
    _record_path, _fail_flag = record_path, fail_flag


def _append_record(line: str) -> None:
    if _record_path is None:
        raise RuntimeError("bench_activities.configure() was not called")
    fd = os.open(_record_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@activity.defn
async def noop(step: int) -> dict[str, Any]:
    return {"step": step, "ok": True}


@activity.defn
async def stamp() -> dict[str, Any]:
    """The timers workload's step: when it ran, by the wall clock the load client also reads."""
    return {"ran_at": time.time()}


@activity.defn
async def counted_step(execution: str, step: int, sleep_seconds: float) -> dict[str, Any]:
    """A step that records its own runs: `start` when it begins, `done` once its work is finished. The
    output carries a nonce so a copied output can be told from a recomputed one."""
    _append_record(f"start {execution} {step}")
    if sleep_seconds > 0:
        await asyncio.sleep(sleep_seconds)
    # A stat of a local file: not worth a thread hop.
    if step == 6 and _fail_flag is not None and _fail_flag.exists():  # noqa: ASYNC240
        _append_record(f"failed {execution} {step}")
        raise ApplicationError("step 6 fails on the first run (fork workload)", non_retryable=True)
    _append_record(f"done {execution} {step}")
    return {"step": step, "nonce": uuid.uuid4().hex}
