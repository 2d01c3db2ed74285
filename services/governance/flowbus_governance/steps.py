"""Step handlers of `flowbus.steps.governance`.

- governance_check (config: agent_id, action, optional payload, require_approval): allow
  answers with the decision; deny fails the step, permanently, with the reason; approval
  required answers with the approval (id, payload hash, expiry): the orchestrator waits
  for the approve or reject command governance sends when a person decides or it expires.
- agent_outcome (config: agent_id, success, optional impact `high`|`low`, cause): moves the
  agent's confidence, and its maturity with it.
- agent_register (config: agent_id, name, category, agent_type, capabilities, owner): registers
  the agent, or updates those fields of an existing one (status and confidence are not set
  this way: they follow outcomes, or an admin).
"""

from __future__ import annotations

from typing import Any

from flowbus_governance.adapters.agents import AgentExists
from flowbus_governance.governance import Governance, Where
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler


def _text(config: dict[str, Any], name: str) -> str:
    value = config.get(name)
    if not isinstance(value, str) or not value.strip():
        raise StepFailure("invalid_config", f"{name} must be a non-empty string")
    return value.strip()


def handlers(governance: Governance) -> dict[str, StepHandler]:
    async def governance_check(request: StepRequest) -> dict[str, Any]:
        config = request.config
        payload = config.get("payload", {})
        if not isinstance(payload, dict):
            raise StepFailure("invalid_config", "payload must be an object")
        require = config.get("require_approval", False)
        if not isinstance(require, bool):
            raise StepFailure("invalid_config", "require_approval must be true or false")
        result = await governance.check(
            request.tenant_id,
            _text(config, "agent_id"),
            _text(config, "action"),
            payload,
            require_approval=require,
            where=Where(request.execution_id, request.step_id, request.attempt),
            decision_id=f"dec-{request.idempotency_key}",
        )
        if result.decision.verdict == "deny":
            raise StepFailure("denied", result.decision.reason)
        return result.as_output()

    async def agent_outcome(request: StepRequest) -> dict[str, Any]:
        config = request.config
        success = config.get("success")
        if not isinstance(success, bool):
            raise StepFailure("invalid_config", "success must be true or false")
        impact = config.get("impact", "low")
        if impact not in ("high", "low"):
            raise StepFailure("invalid_config", "impact must be high or low")
        agent_id = _text(config, "agent_id")
        cause = str(config.get("cause") or request.idempotency_key)
        changed = await governance.outcome(
            request.tenant_id, agent_id, success=success, impact=impact, cause=cause
        )
        if changed is None:
            raise StepFailure("unknown_agent", f"tenant {request.tenant_id!r} has no agent {agent_id!r}")
        before, after = changed
        return {
            "agent_id": agent_id,
            "old_confidence": before.confidence,
            "new_confidence": after.confidence,
            "old_status": before.status,
            "new_status": after.status,
        }

    async def agent_register(request: StepRequest) -> dict[str, Any]:
        config = request.config
        agent_id = _text(config, "agent_id")
        fields: dict[str, Any] = {}
        for name in ("name", "category", "agent_type", "owner"):
            if name in config:
                if not isinstance(config[name], str):
                    raise StepFailure("invalid_config", f"{name} must be a string")
                fields[name] = config[name]
        if "capabilities" in config:
            capabilities = config["capabilities"]
            if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
                raise StepFailure("invalid_config", "capabilities must be a list of strings")
            fields["capabilities"] = capabilities
        agents = governance.agents
        existing = await agents.get(request.tenant_id, agent_id)
        created = False
        if existing is None:
            try:
                agent = await agents.register(request.tenant_id, agent_id, **{"name": agent_id, **fields})
                created = True
            except AgentExists:  # registered meanwhile by another request: update it instead
                agent = await agents.update(request.tenant_id, agent_id, **fields)
        else:
            agent = await agents.update(request.tenant_id, agent_id, **fields)
        return {
            "agent_id": agent_id,
            "created": created,
            "status": agent.status,
            "agent_confidence": agent.confidence,  # not `confidence`: that would be read as the step's own
        }

    return {
        "governance_check": governance_check,
        "agent_outcome": agent_outcome,
        "agent_register": agent_register,
    }
