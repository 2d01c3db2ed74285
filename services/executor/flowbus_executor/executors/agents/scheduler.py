"""Background agents: each due schedule runs one round of its agent, claimed with a
compare-and-set in the database so that two executor processes never run the same round twice.
Schedules live in the database, so a restart picks them up where they were."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.agents import agent_tools
from flowbus_executor.executors.agents.loop import run_agent
from flowbus_executor.executors.agents.runs import (
    Schedule,
    claim_schedule,
    due_schedule_ids,
    record_round,
)
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import run_step

log = logging.getLogger("flowbus.agents.background")

ROUND_TIMEOUT_SECONDS = 600.0


class BackgroundAgents:
    def __init__(self, deps: ExecutorDeps) -> None:
        self.deps = deps

    async def run_due(self, now: datetime | None = None) -> int:
        """Run every schedule due at `now`; how many rounds this process ran."""
        now = now or datetime.now(UTC)
        ran = 0
        for schedule_id in await due_schedule_ids(self.deps.engine, now):
            schedule = await claim_schedule(self.deps.engine, schedule_id, now)
            if schedule is None:  # another executor took it, or it was stopped
                continue
            execution_id = schedule.pending_execution_id or f"bg:{schedule.schedule_id}:{schedule.runs}"
            status = await self._round(schedule, execution_id)
            pending = execution_id if status == "waiting_approval" else None
            await record_round(
                self.deps.engine, schedule_id, status, datetime.now(UTC), pending_execution_id=pending
            )
            ran += 1
        return ran

    async def _round(self, schedule: Schedule, execution_id: str) -> str:
        """One round; a round that waits for an approval is resumed by the next ones (same
        execution id, so the saved run with its pending call is picked up) until it is decided."""
        timeout = schedule.config.get("timeout_seconds", ROUND_TIMEOUT_SECONDS)
        request = StepRequest(
            execution_id=execution_id,
            workflow_id="background-agent",
            tenant_id=schedule.tenant_id,
            step_id="agent",
            step_type="agent_execution",
            config={**schedule.config, "agent_id": schedule.agent_id},
            timeout_seconds=float(timeout) if isinstance(timeout, int | float) and timeout > 0 else 600.0,
        )
        tools = agent_tools(self.deps)

        async def agent(step: StepRequest) -> dict[str, object]:
            return await run_agent(self.deps, step, tools)

        result = await run_step({"agent_execution": agent}, request, executed_by="background-agents")
        if result.status == "failed":
            error_type = result.error.error_type if result.error else "unknown"
            log.warning("background agent %s failed: %s", schedule.agent_id, error_type)
            return f"failed: {error_type}"
        return str(result.output.get("status") or "completed")
