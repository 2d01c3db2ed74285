"""The workflow plan: what a model answers when asked to design a workflow (the monolith's
shape), shared by the llm-gateway's workflow_generation step, which asks for and validates
it, and the orchestrator's planner, which turns it into a definition."""

from __future__ import annotations

from typing import Any

# The services a plan step may name, and the step type each becomes; any other service
# name becomes a universal_integration step.
SERVICE_TYPES: dict[str, str] = {
    "gmail": "email_send",
    "email": "email_send",
    "slack": "slack_notification",
    "hubspot": "hubspot_integration",
    "salesforce": "salesforce_integration",
    "delay": "delay",
    "asana": "asana_integration",
    "notion": "notion_integration",
}

PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "steps": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "step_id": {"type": "string"},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "service": {"type": "string"},
                    "action": {"type": "string"},
                    "parameters": {"type": "object"},
                    "complexity": {"type": "integer", "minimum": 1, "maximum": 4},
                },
                "required": ["step_id", "title", "service", "action", "parameters"],
            },
        },
        "trigger": {
            "type": "object",
            "properties": {
                "description": {"type": "string"},
                "service": {"type": "string"},
                "event": {"type": "string"},
                "type": {"type": "string"},
            },
        },
        "is_template": {"type": "boolean"},
        "category": {"type": "string"},
    },
    "required": ["steps"],
}

PLANNER_PROMPT = (
    "You plan business automations. Answer with one JSON object only, matching the schema you are "
    "given: steps run in the order given, each naming a service and an action with its parameters. "
    f"Known services: {', '.join(sorted(SERVICE_TYPES))}; any other service name is allowed. "
    "A delay step takes parameters {delay_seconds} or {duration, unit}."
)
