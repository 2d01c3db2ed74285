"""The six benchmark workloads written as DBOS workflows: every step is a `@DBOS.step` that DBOS checkpoints
in its system database before the workflow moves on; timers are `DBOS.sleep`, the approval is `DBOS.recv`.

Steps that must be counted (crash, fork) append a line to a side record with O_APPEND, so the count
survives a SIGKILL of this process: `start <key> <step>` before the step's work, `end <key> <step>` after.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path
from typing import Any

from dbos import DBOS

# Set by the app from its command line before DBOS launches.
STEP_RECORD: Path | None = None
FAIL_FLAG: Path | None = None  # while this file exists, fork_flow's failing step raises

APPROVAL_TOPIC = "approval"
FAILING_STEP = 6


def record(kind: str, key: str, step: int) -> None:
    """One line per event; O_APPEND makes each write land whole even from concurrent steps."""
    assert STEP_RECORD is not None
    fd = os.open(STEP_RECORD, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{kind} {key} {step}\n".encode())
    finally:
        os.close(fd)


@DBOS.step()
async def noop(step: int) -> dict[str, int]:
    return {"step": step}


@DBOS.step()
async def join(results: list[dict[str, int]]) -> dict[str, int]:
    return {"joined": len(results)}


@DBOS.step()
async def wall_clock() -> dict[str, float]:
    return {"at": time.time()}


@DBOS.step()
async def slow_step(key: str, step: int, seconds: float) -> dict[str, int]:
    record("start", key, step)
    await asyncio.sleep(seconds)  # the step's own work, not a durable timer
    record("end", key, step)
    return {"step": step}


@DBOS.step()
async def fork_step(key: str, step: int) -> dict[str, Any]:
    record("start", key, step)
    # One stat() of a local file: cheaper than handing it to a thread.
    if step == FAILING_STEP and FAIL_FLAG is not None and FAIL_FLAG.exists():  # noqa: ASYNC240
        raise RuntimeError(f"step {step} fails on the first run")
    # A fresh token per run: a copied output equals the original only if it was not recomputed.
    return {"step": step, "token": uuid.uuid4().hex}


@DBOS.workflow()
async def linear_flow(steps: int) -> int:
    for step in range(1, steps + 1):
        await noop(step)
    return steps


@DBOS.workflow()
async def fanout_flow(width: int) -> dict[str, int]:
    await noop(0)
    branches = await asyncio.gather(*(noop(step) for step in range(1, width + 1)))
    return await join(list(branches))


@DBOS.workflow()
async def timer_flow(seconds: float) -> dict[str, float]:
    await DBOS.sleep_async(seconds)
    return await wall_clock()


@DBOS.workflow()
async def approval_flow(timeout_seconds: float) -> dict[str, Any]:
    decision = await DBOS.recv_async(APPROVAL_TOPIC, timeout_seconds=timeout_seconds)
    if decision is None:
        raise TimeoutError("no approval arrived")
    done = await noop(1)
    return {"decision": decision, **done}


@DBOS.workflow()
async def crash_flow(key: str, steps: int, seconds: float) -> int:
    for step in range(1, steps + 1):
        await slow_step(key, step, seconds)
    return steps


@DBOS.workflow()
async def fork_flow(key: str, steps: int) -> list[dict[str, Any]]:
    return [await fork_step(key, step) for step in range(1, steps + 1)]


WORKFLOWS = {
    "linear": linear_flow,
    "fanout": fanout_flow,
    "timers": timer_flow,
    "approval": approval_flow,
    "crash": crash_flow,
    "fork": fork_flow,
}
