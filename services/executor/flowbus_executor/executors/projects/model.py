"""What a project is: the plan before it is stored (ProjectPlan) and the stored project with its
ids (Project), with their JSON shapes. Validation of plans lives in plans.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flowbus_executor.executors.projects.values import day_out, money_out, number_out


@dataclass(frozen=True)
class RolePlan:
    """A role the project needs: its skills and (optionally) the hours it takes."""

    role: str
    skills: tuple[str, ...] = ()
    hours: Decimal | None = None

    def as_json(self) -> dict[str, Any]:
        return {"role": self.role, "skills": list(self.skills), "hours": number_out(self.hours, 2)}


@dataclass(frozen=True)
class MilestonePlan:
    name: str
    due_date: date
    amount: Decimal | None = None
    deliverables: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProjectPlan:
    """A validated project before it has ids: dates ordered, milestones inside them, names unique."""

    name: str
    description: str
    start_date: date
    end_date: date
    budget: Decimal | None = None
    currency: str | None = None
    milestones: tuple[MilestonePlan, ...] = ()
    roles: tuple[RolePlan, ...] = ()


@dataclass(frozen=True)
class Milestone:
    milestone_id: str
    position: int
    name: str
    due_date: date
    amount: Decimal | None = None
    deliverables: tuple[str, ...] = ()
    completed: bool = False
    completed_on: date | None = None
    percent_complete: Decimal | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "milestone_id": self.milestone_id,
            "name": self.name,
            "due_date": day_out(self.due_date),
            "amount": money_out(self.amount),
            "deliverables": list(self.deliverables),
            "completed": self.completed,
            "completed_on": day_out(self.completed_on),
            "percent_complete": number_out(self.percent_complete),
        }


@dataclass(frozen=True)
class Project:
    project_id: str
    name: str
    description: str
    start_date: date
    end_date: date
    source: str
    created_at: datetime
    budget: Decimal | None = None
    currency: str | None = None
    roles: tuple[RolePlan, ...] = ()
    milestones: tuple[Milestone, ...] = field(default_factory=tuple)

    def as_json(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "name": self.name,
            "description": self.description,
            "start_date": day_out(self.start_date),
            "end_date": day_out(self.end_date),
            "budget": money_out(self.budget),
            "currency": self.currency,
            "milestones": [milestone.as_json() for milestone in self.milestones],
            "roles": [role.as_json() for role in self.roles],
            "source": self.source,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class ContractPlan:
    """A contract to store for a won deal; its number is given when it is stored."""

    deal_id: str
    deal_name: str
    customer: str
    value: Decimal
    currency: str
    term_months: int
    start_date: date
    end_date: date
    line_items: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Assignment:
    """Hours of one person on one role, as proposed by staffing."""

    role: str
    person_id: str
    name: str
    hours: Decimal
    score: float

    def as_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "person_id": self.person_id,
            "name": self.name,
            "hours": number_out(self.hours, 2),
            "score": self.score,
        }
