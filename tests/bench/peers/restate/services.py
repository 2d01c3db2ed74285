"""The six workloads written for Restate: Services and Workflows whose steps are `ctx.run` actions.

Served by hypercorn as an ASGI app (`hypercorn services:app`); restate-server invokes it over HTTP/2.
Steps are real `ctx.run` actions: Restate journals each result before the handler goes on, and replays
the journal instead of running a completed step again.

The crash and fork steps also append one line per execution to a side record (a file opened with
O_APPEND, named by BENCH_STEP_RECORD) that survives a SIGKILL, so the runner can count duplicates."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import restate

LINEAR_STEPS = 10
FAN_OUT = 20
FORK_STEPS = 10
FAILING_STEP = 6
CRASH_STEPS = 10

# Set by the runner (engine.py) when it starts this process.
STEP_RECORD = Path(os.environ.get("BENCH_STEP_RECORD", "steps.log"))
FAIL_FLAG = Path(os.environ.get("BENCH_FAIL_FLAG", "fail-step-6"))
CRASH_STEP_SECONDS = float(os.environ.get("BENCH_CRASH_STEP_SECONDS", "0.05"))


def record(workload: str, execution: str, step: int, output: dict[str, Any]) -> None:
    """One line per step execution; O_APPEND keeps lines whole across concurrent writers and kills."""
    line = json.dumps({"w": workload, "e": execution, "s": step, "o": output}) + "\n"
    fd = os.open(STEP_RECORD, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


async def noop(step: int) -> dict[str, Any]:
    return {"step": step}


# 1. linear: ten steps in sequence.
linear = restate.Service("Linear")


@linear.handler("run")
async def run_linear(ctx: restate.Context, request: dict[str, Any]) -> dict[str, Any]:
    last: dict[str, Any] = {}
    for step in range(1, LINEAR_STEPS + 1):
        last = await ctx.run_typed(f"step-{step}", noop, step=step)
    return last


# 2. fanout: one step, twenty in parallel (gathered), then a join step.
fanout = restate.Service("Fanout")


@fanout.handler("run")
async def run_fanout(ctx: restate.Context, request: dict[str, Any]) -> dict[str, Any]:
    await ctx.run_typed("first", noop, step=0)
    branches = [ctx.run_typed(f"branch-{i}", noop, step=i) for i in range(1, FAN_OUT + 1)]
    await restate.gather(*branches)
    outputs = [await branch for branch in branches]
    return await ctx.run_typed("join", noop, step=len(outputs) + 1)


# 3. timers: a durable one-second sleep, then one step that reports the wall clock.
timers = restate.Workflow("TimerFlow")


async def wall_clock() -> dict[str, Any]:
    return {"woke_at": time.time()}


@timers.main("run")
async def run_timer(ctx: restate.WorkflowContext, request: dict[str, Any]) -> dict[str, Any]:
    await ctx.sleep(timedelta(seconds=float(request.get("seconds", 1.0))))
    return await ctx.run_typed("after-timer", wall_clock)


# 4. approval: wait on a durable promise that an outside caller resolves, then one step.
approval = restate.Workflow("ApprovalFlow")


@approval.main("run")
async def run_approval(ctx: restate.WorkflowContext, request: dict[str, Any]) -> dict[str, Any]:
    decision = await ctx.promise("approval", type_hint=dict).value()
    await ctx.run_typed("after-approval", noop, step=1)
    return {"approved": decision}


@approval.handler("approve")
async def approve(ctx: restate.WorkflowSharedContext, decision: dict[str, Any]) -> None:
    await ctx.promise("approval", type_hint=dict).resolve(decision)


# 5. crash: ten slow steps, each recorded in the side record, so a SIGKILL lands mid-run.
crash = restate.Workflow("CrashFlow")


async def slow_step(execution: str, step: int) -> dict[str, Any]:
    await asyncio.sleep(CRASH_STEP_SECONDS)
    output = {"step": step}
    record("crash", execution, step, output)
    return output


@crash.main("run")
async def run_crash(ctx: restate.WorkflowContext, request: dict[str, Any]) -> dict[str, Any]:
    for step in range(1, CRASH_STEPS + 1):
        await ctx.run_typed(f"step-{step}", slow_step, execution=ctx.key(), step=step)
    return {"steps": CRASH_STEPS}


# 6. fork: ten steps; step 6 fails terminally while the runner's flag file exists. A Service, not a
# Workflow: Restate's restart-as-new (the fork facility) refuses workflow invocations.
forkable = restate.Service("Forkable")


def first_run() -> bool:
    return FAIL_FLAG.exists()


async def recorded_step(execution: str, step: int) -> dict[str, Any]:
    if step == FAILING_STEP and first_run():
        record("fork-failed", execution, step, {})
        raise restate.TerminalError(f"step {step} fails on the first run")
    output = {"step": step, "token": uuid.uuid4().hex}  # differs per run: a re-run would show
    record("fork", execution, step, output)
    return output


@forkable.handler("run")
async def run_forkable(ctx: restate.Context, request: dict[str, Any]) -> dict[str, Any]:
    execution = str(request["execution"])
    outputs = []
    for step in range(1, FORK_STEPS + 1):
        outputs.append(await ctx.run_typed(f"step-{step}", recorded_step, execution=execution, step=step))
    return {"execution": execution, "outputs": outputs}


app = restate.app(services=[linear, fanout, timers, approval, crash, forkable])
