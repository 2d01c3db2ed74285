"""Validating a project plan, whether a model wrote it from a brief or a config gave it: the
JSON schema checks shapes, this checks what a schema cannot (dates in order, milestones inside
the project, unique names, amounts within the budget). Pure; refusals are `Invalid`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flowbus_executor.executors.projects.model import MilestonePlan, ProjectPlan, RolePlan
from flowbus_executor.executors.projects.values import (
    Invalid,
    day,
    decimal,
    items,
    mapping,
    names,
    optional_currency,
    optional_money,
    optional_text,
    text,
)

MAX_MILESTONES = 100
MAX_ROLES = 50


def _unique(seen: dict[str, str], name: str, field: str) -> None:
    key = name.casefold()
    if key in seen:
        raise Invalid(field, f"{name!r} is used twice (also {seen[key]})")
    seen[key] = field


def role_plan(value: Any, field: str) -> RolePlan:
    data = mapping(value, field)
    hours = data.get("hours")
    return RolePlan(
        role=text(data.get("role") or data.get("name"), f"{field}.role", limit=200),
        skills=names(data.get("skills"), f"{field}.skills"),
        hours=None if hours is None or hours == "" else decimal(hours, f"{field}.hours", minimum=Decimal(0)),
    )


def role_plans(value: Any, field: str) -> tuple[RolePlan, ...]:
    """Roles with unique names (staffing and assignments are keyed by role)."""
    listed = items(value, field)
    if len(listed) > MAX_ROLES:
        raise Invalid(field, f"more than {MAX_ROLES} roles")
    roles: list[RolePlan] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(listed):
        role = role_plan(item, f"{field}[{index}]")
        _unique(seen, role.role, f"{field}[{index}].role")
        roles.append(role)
    return tuple(roles)


def milestone_plan(value: Any, field: str) -> MilestonePlan:
    data = mapping(value, field)
    return MilestonePlan(
        name=text(data.get("name"), f"{field}.name"),
        due_date=day(data.get("due_date"), f"{field}.due_date"),
        amount=optional_money(data.get("amount"), f"{field}.amount"),
        deliverables=names(data.get("deliverables"), f"{field}.deliverables"),
    )


def check_plan(plan: ProjectPlan, where: str = "project") -> ProjectPlan:
    """The cross-field rules of a plan; milestones come back ordered by due date."""
    if plan.end_date <= plan.start_date:
        raise Invalid(
            f"{where}.end_date",
            f"{plan.end_date.isoformat()} is not after start_date {plan.start_date.isoformat()}",
        )
    seen: dict[str, str] = {}
    for index, milestone in enumerate(plan.milestones):
        field = f"{where}.milestones[{index}]"
        _unique(seen, milestone.name, f"{field}.name")
        if not plan.start_date <= milestone.due_date <= plan.end_date:
            raise Invalid(
                f"{field}.due_date",
                f"{milestone.due_date.isoformat()} is outside the project "
                f"({plan.start_date.isoformat()} to {plan.end_date.isoformat()})",
            )
        if milestone.amount is not None and milestone.amount < 0:
            raise Invalid(f"{field}.amount", "must not be negative")
    if plan.budget is not None:
        total = sum((m.amount for m in plan.milestones if m.amount is not None), Decimal(0))
        if total > plan.budget:
            raise Invalid(f"{where}.milestones", f"amounts total {total}, more than the budget {plan.budget}")
    ordered = sorted(enumerate(plan.milestones), key=lambda pair: (pair[1].due_date, pair[0]))
    return ProjectPlan(
        name=plan.name,
        description=plan.description,
        start_date=plan.start_date,
        end_date=plan.end_date,
        budget=plan.budget,
        currency=plan.currency,
        milestones=tuple(milestone for _, milestone in ordered),
        roles=plan.roles,
    )


def project_plan(value: Any, where: str = "project") -> ProjectPlan:
    """A ProjectPlan from {name, description, start_date, end_date, budget?, currency?,
    milestones: [{name, due_date, amount?, deliverables?}], roles: [{role, skills, hours?}]}."""
    data = mapping(value, where)
    milestones = items(data.get("milestones"), f"{where}.milestones")
    if len(milestones) > MAX_MILESTONES:
        raise Invalid(f"{where}.milestones", f"more than {MAX_MILESTONES} milestones")
    plan = ProjectPlan(
        name=text(data.get("name"), f"{where}.name"),
        description=optional_text(data.get("description"), f"{where}.description", limit=20_000) or "",
        start_date=day(data.get("start_date"), f"{where}.start_date"),
        end_date=day(data.get("end_date"), f"{where}.end_date"),
        budget=optional_money(data.get("budget"), f"{where}.budget"),
        currency=optional_currency(data.get("currency"), f"{where}.currency"),
        milestones=tuple(
            milestone_plan(item, f"{where}.milestones[{index}]") for index, item in enumerate(milestones)
        ),
        roles=role_plans(data.get("roles"), f"{where}.roles"),
    )
    return check_plan(plan, where)
