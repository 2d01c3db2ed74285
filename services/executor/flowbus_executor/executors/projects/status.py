"""A project's status from its milestones and dates: progress, where it should be by now, what is
overdue, and a risk level with the reasons for it. Pure.

- progress: the completed share of the milestones (a milestone's `percent_complete` counts
  partially), weighted by amount when every milestone has one (and they are not all zero), else
  each milestone counts the same;
- expected: the share of the project's days elapsed at `as_of` (0 before the start, 100 after the end);
- schedule variance: expected - progress, in points (positive = behind);
- risk "high" when > 25 points behind, a milestone is overdue by more than 14 days, spending exceeds
  the budget or runs > 25 points ahead of progress; "medium" when > 10 points behind, any milestone
  is overdue, or spending runs > 10 points ahead of progress; else "low".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flowbus_executor.executors.projects.model import Milestone, Project
from flowbus_executor.executors.projects.values import (
    HUNDRED,
    Invalid,
    boolean,
    day_out,
    decimal,
    items,
    mapping,
    money_out,
    number_out,
    optional_day,
    optional_text,
)

BEHIND_MEDIUM = Decimal(10)
BEHIND_HIGH = Decimal(25)
OVERDUE_HIGH_DAYS = 14
BURN_MEDIUM = Decimal(10)
BURN_HIGH = Decimal(25)
_STORED = Decimal("0.01")


@dataclass(frozen=True)
class MilestoneUpdate:
    milestone_id: str
    completed: bool | None
    completed_on: date | None
    percent_complete: Decimal | None


def parse_updates(value: Any, project: Project, field: str = "milestone_updates") -> list[MilestoneUpdate]:
    """Updates naming a milestone of the project by `milestone_id` or `name` (case-insensitive)."""
    by_id = {milestone.milestone_id: milestone for milestone in project.milestones}
    by_name = {milestone.name.casefold(): milestone for milestone in project.milestones}
    updates = []
    for index, item in enumerate(items(value, field)):
        where = f"{field}[{index}]"
        data = mapping(item, where)
        wanted_id = optional_text(data.get("milestone_id"), f"{where}.milestone_id")
        wanted_name = optional_text(data.get("name"), f"{where}.name")
        if wanted_id is not None:
            milestone = by_id.get(wanted_id)
        elif wanted_name is not None:
            milestone = by_name.get(wanted_name.casefold())
        else:
            raise Invalid(where, "name the milestone by milestone_id or name")
        if milestone is None:
            raise Invalid(
                where, f"project {project.project_id} has no milestone {wanted_id or wanted_name!r}"
            )
        completed = (
            None if data.get("completed") is None else boolean(data["completed"], f"{where}.completed")
        )
        percent = data.get("percent_complete")
        if completed is None and percent is None:
            raise Invalid(where, "give completed or percent_complete")
        updates.append(
            MilestoneUpdate(
                milestone_id=milestone.milestone_id,
                completed=completed,
                completed_on=optional_day(data.get("completed_on"), f"{where}.completed_on"),
                percent_complete=None
                if percent is None
                else decimal(percent, f"{where}.percent_complete", minimum=Decimal(0), maximum=HUNDRED),
            )
        )
    return updates


def apply_updates(
    project: Project, updates: list[MilestoneUpdate], as_of: date
) -> tuple[Project, list[Milestone]]:
    """The project with the updates applied, and the milestones they changed. Completing a
    milestone without a date completes it `as_of`; reopening one clears its completion date."""
    milestones = {milestone.milestone_id: milestone for milestone in project.milestones}
    changed: dict[str, Milestone] = {}
    for update in updates:
        current = milestones[update.milestone_id]
        completed = current.completed if update.completed is None else update.completed
        if completed:
            after = replace(
                current,
                completed=True,
                completed_on=update.completed_on or current.completed_on or as_of,
                percent_complete=HUNDRED,
            )
        else:
            reopened = current.completed and update.completed is False
            percent = update.percent_complete
            if percent is None:
                percent = None if reopened else current.percent_complete
            after = replace(current, completed=False, completed_on=None, percent_complete=percent)
        if after != current:
            milestones[update.milestone_id] = changed[update.milestone_id] = after
    updated = replace(project, milestones=tuple(milestones[m.milestone_id] for m in project.milestones))
    return updated, list(changed.values())


def _done(milestone: Milestone) -> Decimal:
    """How much of a milestone is done, 0 to 1."""
    if milestone.completed:
        return Decimal(1)
    return (milestone.percent_complete or Decimal(0)) / HUNDRED


def progress(milestones: tuple[Milestone, ...]) -> tuple[Decimal, str]:
    """(percent done, the weighting used: "amount" | "count")."""
    if not milestones:
        return Decimal(0), "count"
    amounts = [milestone.amount for milestone in milestones]
    if all(amount is not None for amount in amounts) and sum(a for a in amounts if a is not None) > 0:
        weights = [amount or Decimal(0) for amount in amounts]
        basis = "amount"
    else:
        weights, basis = [Decimal(1)] * len(milestones), "count"
    done = sum((weight * _done(m) for weight, m in zip(weights, milestones, strict=True)), Decimal(0))
    return done / sum(weights, Decimal(0)) * HUNDRED, basis


def expected(project: Project, as_of: date) -> Decimal:
    if as_of <= project.start_date:
        return Decimal(0)
    if as_of >= project.end_date:
        return HUNDRED
    elapsed = (as_of - project.start_date).days
    return Decimal(elapsed) / Decimal((project.end_date - project.start_date).days) * HUNDRED


def _points(value: Decimal) -> str:
    return f"{number_out(value)}"


@dataclass(frozen=True)
class Assessment:
    """The status output and the numbers stored beside it (two decimals)."""

    output: dict[str, Any]
    progress: Decimal
    expected: Decimal
    variance: Decimal


def assess(project: Project, as_of: date, spent: Decimal | None = None) -> Assessment:
    actual, basis = progress(project.milestones)
    should = expected(project, as_of)
    variance = should - actual
    high: list[str] = []
    medium: list[str] = []
    overdue = []
    for milestone in project.milestones:
        if milestone.completed or milestone.due_date >= as_of:
            continue
        days = (as_of - milestone.due_date).days
        overdue.append({**milestone.as_json(), "days_overdue": days})
        reason = (
            f"milestone {milestone.name!r} is overdue by {days} days (due {milestone.due_date.isoformat()})"
        )
        (high if days > OVERDUE_HIGH_DAYS else medium).append(reason)
    if variance > 0:
        behind = (
            f"{_points(variance)} points behind schedule "
            f"(expected {_points(should)}%, actual {_points(actual)}%)"
        )
        if variance > BEHIND_HIGH:
            high.append(behind)
        elif variance > BEHIND_MEDIUM:
            medium.append(behind)
    burn = None
    if spent is not None:
        if project.budget is None or project.budget == 0:
            medium.append(f"spent {money_out(spent)} but the project has no budget to measure it against")
        else:
            burn = spent / project.budget * HUNDRED
            ahead = burn - actual
            if spent > project.budget:
                high.append(f"over budget: spent {money_out(spent)} of {money_out(project.budget)}")
            elif ahead > BURN_MEDIUM:
                message = (
                    f"budget burn {_points(burn)}% runs {_points(ahead)} points ahead of progress "
                    f"{_points(actual)}%"
                )
                (high if ahead > BURN_HIGH else medium).append(message)
    risk = "high" if high else "medium" if medium else "low"
    output: dict[str, Any] = {
        "project_id": project.project_id,
        "as_of": day_out(as_of),
        "progress_percent": number_out(actual),
        "expected_percent": number_out(should),
        "schedule_variance": number_out(variance),
        "weighting": basis,
        "overdue": overdue,
        "risk": risk,
        "reasons": [*high, *medium]
        or [f"on track: nothing overdue, schedule variance {_points(variance)} points"],
        "budget_burn_percent": number_out(burn),
    }

    def stored(value: Decimal) -> Decimal:
        return value.quantize(_STORED, rounding=ROUND_HALF_UP)

    return Assessment(output, stored(actual), stored(should), stored(variance))
