"""The agent loop: a model (through the llm-gateway) reaches a goal by calling executor step types
as tools, each call checked with governance first.

allow -> the tool's step runs here and its output (or error) goes back to the model; deny -> the
model is told and goes on; approval_required -> the run is saved with the call pending and the
step answers `resume_after_approval`, so the orchestrator runs the same step again once a human
approved, and the pending call runs then (a rejection or expiry is told to the model instead).
The run is saved after every round, so a retried attempt resumes rather than starting over.
Bounded by `max_steps` model rounds and `max_cost_usd` (the gateway's cost of each answer).
The outcome (completed or failed) is fed back to governance as the agent's track record."""

from __future__ import annotations

import inspect
import json
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.agents import governance_client as governance
from flowbus_executor.executors.agents.runs import AgentRun, delete_run, load_run, save_run
from flowbus_executor.llm import chat, message_of
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler, run_step

log = logging.getLogger("flowbus.agents")

DEFAULT_SYSTEM = (
    "You are agent {agent_id} of the flowbus platform. Reach the goal with the tools offered; every "
    "tool call is checked by governance and may be denied or wait for a human. When the goal is "
    "reached, answer in plain text without calling a tool."
)
MAX_TOOL_TEXT = 20_000  # characters of a tool's result given back to the model
MAX_TOOL_DOC = 2_000  # characters of a tool's documentation in its description


@dataclass(frozen=True)
class AgentConfig:
    agent_id: str
    goal: str
    tools: list[str]
    system_prompt: str
    max_steps: int
    max_cost_usd: Decimal


def parse_config(config: dict[str, Any], available: dict[str, StepHandler]) -> AgentConfig:
    """The loop's config, or a permanent invalid_config naming what is wrong."""
    agent_id = config.get("agent_id")
    if not isinstance(agent_id, str) or not agent_id.strip():
        raise StepFailure("invalid_config", "missing agent_id")
    goal = config.get("goal") or config.get("prompt")
    if not isinstance(goal, str) or not goal.strip():
        raise StepFailure("invalid_config", "missing goal (or prompt)")
    tools = config.get("tools", [])
    if not isinstance(tools, list) or not all(isinstance(name, str) for name in tools):
        raise StepFailure("invalid_config", "tools must be a list of step types")
    unknown = [name for name in tools if name not in available]
    if unknown:
        raise StepFailure("invalid_config", f"tools are not executor step types: {', '.join(unknown)}")
    max_steps = config.get("max_steps", 8)
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or not 1 <= max_steps <= 50:
        raise StepFailure("invalid_config", "max_steps must be an integer from 1 to 50")
    try:
        max_cost = Decimal(str(config.get("max_cost_usd", "1.00")))
    except InvalidOperation:
        raise StepFailure("invalid_config", "max_cost_usd must be a number") from None
    if not max_cost.is_finite() or max_cost < 0:
        raise StepFailure("invalid_config", "max_cost_usd must be a number of at least 0")
    system = config.get("system_prompt") or DEFAULT_SYSTEM.format(agent_id=agent_id)
    return AgentConfig(agent_id, goal, list(dict.fromkeys(tools)), str(system), max_steps, max_cost)


def describe_tool(name: str, handler: StepHandler) -> str:
    """What the model is told of a tool: the step type, and the documentation of the executor
    module that runs it (each one documents its config, which is the tool's arguments)."""
    module = sys.modules.get(getattr(handler, "__module__", ""))
    doc = inspect.getdoc(module) if module is not None else None
    text = f"Run the {name} step; the arguments are its config."
    return f"{text}\n\n{doc[:MAX_TOOL_DOC]}" if doc else text


def tool_specs(names: list[str], handlers: dict[str, StepHandler]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": describe_tool(name, handlers[name]),
                "parameters": {"type": "object"},
            },
        }
        for name in names
    ]


def _tool_message(call_id: str, name: str, result: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(result, default=str)
    return {"role": "tool", "tool_call_id": call_id, "name": name, "content": text[:MAX_TOOL_TEXT]}


def summary(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """[{name, verdict, ok}] of every tool call of the run, read back from its tool messages."""
    calls = []
    for message in messages:
        if message.get("role") != "tool":
            continue
        try:
            result = json.loads(str(message.get("content")))
        except ValueError:  # cut short: it was an output
            result = {"verdict": "allow", "ok": True}
        calls.append(
            {
                "name": message.get("name"),
                "verdict": result.get("verdict"),
                "ok": bool(result.get("ok")),
            }
        )
    return calls


def _arguments(call: dict[str, Any]) -> dict[str, Any] | None:
    raw = (call.get("function") or {}).get("arguments")
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw) if isinstance(raw, str) and raw.strip() else {}
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class AgentLoop:
    """One attempt of one agent step."""

    def __init__(
        self, deps: ExecutorDeps, request: StepRequest, tools: dict[str, StepHandler], config: AgentConfig
    ) -> None:
        self.deps = deps
        self.request = request
        self.tools = tools
        self.config = config

    async def run(self) -> dict[str, Any]:
        request, config = self.request, self.config
        run = await load_run(self.deps.engine, request.tenant_id, request.execution_id, request.step_id)
        if run is None:
            messages = [
                {"role": "system", "content": config.system_prompt},
                {"role": "user", "content": config.goal},
            ]
            run = AgentRun(
                request.tenant_id, request.execution_id, request.step_id, config.agent_id, messages
            )
        if run.pending is not None:
            paused = await self._resume(run)
            if paused is not None:
                return paused
        while run.steps_used < config.max_steps:
            answer = await chat(self.deps, request, run.messages, tools=tool_specs(config.tools, self.tools))
            run.steps_used += 1
            run.cost_usd += Decimal(str((answer.get("flowbus") or {}).get("cost_usd") or 0))
            if run.cost_usd > config.max_cost_usd:
                await self._fail(run)
                raise StepFailure(
                    "cost_cap",
                    f"agent {config.agent_id} spent {run.cost_usd} USD, over max_cost_usd {config.max_cost_usd}",
                )
            message = message_of(answer)
            calls = [c for c in message.get("tool_calls") or [] if isinstance(c, dict)]
            assistant: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
            if calls:
                assistant["tool_calls"] = calls
            run.messages.append(assistant)
            if not calls:
                return await self._complete(run, str(message.get("content") or ""))
            paused = await self._calls(run, calls)
            if paused is not None:
                return paused
            await save_run(self.deps.engine, run)
        await self._fail(run)
        raise StepFailure(
            "step_budget_exhausted",
            f"agent {config.agent_id} did not reach its goal within max_steps {config.max_steps}",
        )

    async def _resume(self, run: AgentRun) -> dict[str, Any] | None:
        """Settle the call that waited for approval, then the calls after it."""
        pending = run.pending or {}
        call, rest = dict(pending["call"]), list(pending.get("rest") or [])
        name = str(call["function"]["name"])
        approval = await governance.approval(self.deps, self.request, str(pending["approval_id"]))
        state = approval.get("state")
        if state == "pending":
            return self._paused(pending, approval)
        if state == "approved":
            result = await self._execute(run, name, _arguments(call) or {}, "approved")
        else:
            comment = approval.get("decision_comment") or approval.get("reason") or ""
            reason = f"the approval was {state}" + (f": {comment}" if comment else "")
            result = {"verdict": "rejected", "ok": False, "rejected": reason}
        run.messages.append(_tool_message(str(call.get("id")), name, result))
        run.pending = None
        run.status = "running"
        paused = await self._calls(run, rest)
        if paused is None:
            await save_run(self.deps.engine, run)
        return paused

    async def _calls(self, run: AgentRun, calls: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Check and run the tool calls of one answer in order; the pause output when one waits."""
        for index, call in enumerate(calls):
            call_id = str(call.get("id"))
            name = str((call.get("function") or {}).get("name") or "")
            arguments = _arguments(call)
            if name not in self.config.tools:
                result: dict[str, Any] = {"verdict": None, "ok": False, "error": f"no tool {name!r}"}
            elif arguments is None:
                result = {"verdict": None, "ok": False, "error": "the arguments are not a JSON object"}
            else:
                decision = await governance.check(
                    self.deps, self.request, self.config.agent_id, name, arguments
                )
                verdict = decision["verdict"]
                if verdict == "approval_required":
                    run.pending = {
                        "call": call,
                        "rest": calls[index + 1 :],
                        "approval_id": decision.get("approval_id"),
                        "reason": decision.get("reason"),
                        "expires_in_seconds": decision.get("expires_in_seconds"),
                    }
                    run.status = "waiting_approval"
                    await save_run(self.deps.engine, run)
                    return self._paused(run.pending, None)
                if verdict == "allow":
                    result = await self._execute(run, name, arguments, "allow")
                else:
                    result = {"verdict": "deny", "ok": False, "denied": decision.get("reason")}
            run.messages.append(_tool_message(call_id, name, result))
        return None

    def _paused(self, pending: dict[str, Any], approval: dict[str, Any] | None) -> dict[str, Any]:
        expires = pending.get("expires_in_seconds")
        if approval is not None and isinstance(approval.get("expires_at"), str):
            left = datetime.fromisoformat(approval["expires_at"]) - datetime.now(UTC)
            expires = max(0.0, left.total_seconds())
        return {
            "verdict": "approval_required",
            "resume_after_approval": True,
            "approval_id": pending.get("approval_id"),
            "reason": pending.get("reason"),
            "expires_in_seconds": expires,
            "status": "waiting_approval",
            "tool": (pending.get("call") or {}).get("function", {}).get("name"),
        }

    async def _execute(
        self, run: AgentRun, name: str, arguments: dict[str, Any], verdict: str
    ) -> dict[str, Any]:
        number = sum(1 for message in run.messages if message.get("role") == "tool") + 1
        derived = self.request.model_copy(
            update={
                "step_type": name,
                "config": arguments,
                "step_id": f"{self.request.step_id}.{name}.{number}",
            }
        )
        result = await run_step({name: self.tools[name]}, derived, executed_by="agent")
        if result.status == "succeeded":
            return {"verdict": verdict, "ok": True, "output": result.output}
        error = result.error
        detail = {"type": error.error_type, "message": error.message} if error else {}
        return {"verdict": verdict, "ok": False, "error": detail}

    async def _report(self, success: bool) -> None:
        """Best effort: a lost feedback must not change the step's own result."""
        try:
            await governance.report_outcome(self.deps, self.request, self.config.agent_id, success)
        except StepFailure as failure:
            log.warning("feedback for agent %s not recorded: %s", self.config.agent_id, failure.message)

    async def _complete(self, run: AgentRun, answer: str) -> dict[str, Any]:
        await self._report(True)
        await delete_run(self.deps.engine, run)
        return {
            "status": "completed",
            "answer": answer,
            "steps_used": run.steps_used,
            "cost_usd": str(run.cost_usd),
            "tool_calls": summary(run.messages),
        }

    async def _fail(self, run: AgentRun) -> None:
        await self._report(False)
        await delete_run(self.deps.engine, run)


async def run_agent(
    deps: ExecutorDeps, request: StepRequest, tools: dict[str, StepHandler]
) -> dict[str, Any]:
    """Run (or resume) the agent step `request` with the step types `tools` at its disposal."""
    config = parse_config(request.config, tools)
    if not deps.settings.governance_url:
        raise StepFailure("no_governance", "agents act only under governance: set FLOWBUS_GOVERNANCE_URL")
    return await AgentLoop(deps, request, tools, config).run()
