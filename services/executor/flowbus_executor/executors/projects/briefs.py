"""Turning a natural-language brief into a project plan: the JSON schema the model must answer
in, and the prompts. The answer is then checked by plans.project_plan like any other plan."""

from __future__ import annotations

from datetime import date
from typing import Any

MAX_BRIEF = 20_000

_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "YYYY-MM-DD"}
_AMOUNT = {"type": ["number", "null"], "description": "non-negative, in the project's currency"}
_NAMES = {"type": "array", "items": {"type": "string", "minLength": 1}}

PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "description", "start_date", "end_date", "milestones", "roles"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 300},
        "description": {"type": "string"},
        "start_date": _DATE,
        "end_date": _DATE,
        "budget": _AMOUNT,
        "currency": {"type": ["string", "null"], "description": "ISO 4217 code, e.g. USD"},
        "milestones": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "due_date"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 300},
                    "due_date": _DATE,
                    "amount": _AMOUNT,
                    "deliverables": _NAMES,
                },
            },
        },
        "roles": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["role", "skills"],
                "properties": {
                    "role": {"type": "string", "minLength": 1, "maxLength": 200},
                    "skills": _NAMES,
                    "hours": {"type": ["number", "null"], "description": "estimated effort in hours"},
                },
            },
        },
    },
}

SYSTEM = (
    "You are an experienced project manager. Turn the client's brief into a project plan as JSON "
    "matching the schema: a short name, a description, start and end dates (YYYY-MM-DD; the end after "
    "the start), the budget and currency if the brief gives them, milestones in order with due dates "
    "inside the project (amounts only when the brief implies payments; together no more than the "
    "budget; unique names) with their deliverables, and the roles the work needs with their skills "
    "and estimated hours. Do not invent a budget the brief does not state."
)


def user_prompt(brief: str, today: date) -> str:
    """The brief, with today's date so that "starting next month" resolves to real dates."""
    return f"Today is {today.isoformat()}.\n\nBrief:\n{brief}"
