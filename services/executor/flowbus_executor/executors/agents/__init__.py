"""Agents: step types where a model reaches a goal by calling other executor step types as tools,
every call checked with governance (see loop.py).

agent_execution: config `agent_id`, `goal` (or `prompt`), `tools` (step types the agent may call),
`system_prompt?`, `max_steps?` (8, 1..50), `max_cost_usd?` ("1.00"), `model?`. output: {status:
"completed", answer, steps_used, cost_usd, tool_calls: [{name, verdict, ok}]}, or, while a call waits
for a human, {verdict: "approval_required", resume_after_approval: true, approval_id, reason,
expires_in_seconds, status: "waiting_approval"}. Failures: cost_cap, step_budget_exhausted,
no_governance (all permanent).

business_agent_execution: the same with `agent_type` (the default agent_id), `workspace_id?` and the
goal in `task` (or `goal`).

background_agent_start: config `agent_id`, `goal`, `tools`, ... as above, `interval_seconds?` (3600,
>= 1), `run_now?` (false): the agent runs every interval (scheduler.py), one schedule per agent.
output: {schedule_id, active: true, next_run_at}. background_agent_stop: config `agent_id`.
output: {stopped: true | false (there was no active schedule)}.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.agents.loop import parse_config, run_agent
from flowbus_executor.executors.agents.runs import deactivate_schedule, upsert_schedule
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler

AGENT_STEP_TYPES = frozenset(
    {"agent_execution", "business_agent_execution", "background_agent_start", "background_agent_stop"}
)


def agent_tools(deps: ExecutorDeps) -> dict[str, StepHandler]:
    """Every executor step type but the agents' own (an agent does not start agents)."""
    from flowbus_executor.registry import default_handlers  # the registry imports this package

    return {name: handler for name, handler in default_handlers(deps).items() if name not in AGENT_STEP_TYPES}


def business_config(config: dict[str, Any]) -> dict[str, Any]:
    """A business agent's config in the loop's terms."""
    out = dict(config)
    out.setdefault("agent_id", config.get("agent_type"))
    if not out.get("goal"):
        out["goal"] = config.get("task")
    if config.get("workspace_id") and out.get("goal"):
        out["goal"] = f"{out.get('goal')}\n\n(workspace: {config['workspace_id']})"
    return out


def handlers(deps: ExecutorDeps) -> dict[str, StepHandler]:
    async def agent_execution(request: StepRequest) -> dict[str, Any]:
        return await run_agent(deps, request, agent_tools(deps))

    async def business_agent_execution(request: StepRequest) -> dict[str, Any]:
        derived = request.model_copy(update={"config": business_config(request.config)})
        return await run_agent(deps, derived, agent_tools(deps))

    async def background_agent_start(request: StepRequest) -> dict[str, Any]:
        config = dict(request.config)
        interval = config.pop("interval_seconds", 3600)
        run_now = config.pop("run_now", False)
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 1:
            raise StepFailure("invalid_config", "interval_seconds must be a number of at least 1")
        if not isinstance(run_now, bool):
            raise StepFailure("invalid_config", "run_now must be true or false")
        agent = parse_config(config, agent_tools(deps))  # refuse now what every round would refuse
        now = datetime.now(UTC)
        first = now if run_now else now + timedelta(seconds=float(interval))
        schedule = await upsert_schedule(
            deps.engine, request.tenant_id, agent.agent_id, config, float(interval), first
        )
        return {
            "schedule_id": schedule.schedule_id,
            "active": True,
            "next_run_at": schedule.next_run_at.isoformat(),
            "interval_seconds": schedule.interval_seconds,
        }

    async def background_agent_stop(request: StepRequest) -> dict[str, Any]:
        agent_id = request.config.get("agent_id")
        if not isinstance(agent_id, str) or not agent_id:
            raise StepFailure("invalid_config", "missing agent_id")
        return {"stopped": await deactivate_schedule(deps.engine, request.tenant_id, agent_id)}

    return {
        "agent_execution": agent_execution,
        "business_agent_execution": business_agent_execution,
        "background_agent_start": background_agent_start,
        "background_agent_stop": background_agent_stop,
    }
