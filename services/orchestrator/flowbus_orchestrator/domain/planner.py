"""Turning a planner's answer (the monolith's shape) into a workflow definition.

The answer: {steps: [{step_id, title, description, service, action, parameters,
complexity}], trigger: {description, service, event, type}, is_template,
category}. Steps run in the order given; each service maps to a step type.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from typing import Any

from flowbus_shared.plans import SERVICE_TYPES

# Step types whose executor picks an operation by `action` (create, update, search, ...).
_ACTION_TYPES = frozenset({"hubspot_integration", "salesforce_integration", "notion_integration"})


class PlanError(ValueError):
    """The planner's answer is not a plan."""


def _slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:limit] or "step"


def definition_from_plan(plan: Any, request: str) -> dict[str, Any]:
    if not isinstance(plan, dict) or not isinstance(plan.get("steps"), list) or not plan["steps"]:
        raise PlanError("the plan needs a non-empty `steps` list")
    steps: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(plan["steps"]):
        if not isinstance(item, dict):
            raise PlanError(f"steps[{index}] is not an object")
        step_id = _slug(str(item.get("step_id") or item.get("title") or f"step_{index + 1}"))
        while step_id in seen:
            step_id = f"{step_id}_{index + 1}"
        seen.add(step_id)
        service = str(item.get("service", "")).strip().lower()
        step_type = SERVICE_TYPES.get(service, "universal_integration")
        parameters = item.get("parameters") if isinstance(item.get("parameters"), dict) else {}
        config: dict[str, Any] = dict(parameters or {})
        if step_type == "universal_integration":
            config = {"service": service or "unknown", "action": item.get("action", ""), **config}
        elif step_type in _ACTION_TYPES and item.get("action"):
            config.setdefault("action", str(item["action"]))
        steps.append(
            {
                "id": step_id,
                "type": step_type,
                "name": str(item.get("title", ""))[:200],
                "description": str(item.get("description", ""))[:2000],
                "config": config,
            }
        )
    for current, following in itertools.pairwise(steps):
        current["next_steps"] = [following["id"]]
    trigger = plan.get("trigger") if isinstance(plan.get("trigger"), dict) else {}
    event = str((trigger or {}).get("event") or "").strip()
    digest = hashlib.sha256(request.encode()).hexdigest()[:8]
    return {
        "id": f"generated_{_slug(request, 30)}_{digest}",
        "name": request[:200] or "generated workflow",
        "description": f"Generated from: {request[:1000]}",
        "category": str(plan.get("category") or "generated")[:100],
        "tags": ["generated", *(["template"] if plan.get("is_template") else [])],
        "triggers": [event] if event else [],
        "start_step_id": steps[0]["id"],
        "steps": steps,
    }
