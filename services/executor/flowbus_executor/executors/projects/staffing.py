"""Ranking people for a project's roles, and a greedy proposal of who does what. Pure.

- skill coverage: the mean over the role's skills of min(level, wanted) / wanted; a role skill
  without a wanted level wants 5 (so experts rank first), a person's skill listed without a level
  counts as 3; a skill the person lacks counts 0; a role without skills is covered by anyone;
- availability: free hours (capacity - allocated) / the role's hours, capped at 1;
- score: coverage x availability; ties go to more free hours, then the name.

The proposal takes the roles in the order given (put the critical one first): each gets the best
candidate with coverage >= `min_coverage` and free hours, for as many hours as the person has free,
then the next best while hours remain; nobody is planned beyond capacity, nobody twice on a role.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flowbus_executor.executors.projects.model import Assignment, RolePlan
from flowbus_executor.executors.projects.values import (
    Invalid,
    decimal,
    integer,
    items,
    mapping,
    number_out,
    optional_text,
    text,
)

WANTED_LEVEL = 5
ASSUMED_LEVEL = 3
MAX_PEOPLE = 1000
_SCORE = Decimal("0.001")


@dataclass(frozen=True)
class Need:
    role: str
    skills: tuple[tuple[str, int], ...]  # (skill, wanted level)
    hours: Decimal
    location: str | None = None


@dataclass(frozen=True)
class Person:
    person_id: str
    name: str
    skills: dict[str, tuple[str, int]]  # casefolded skill -> (skill, level)
    capacity: Decimal
    allocated: Decimal
    location: str | None = None

    @property
    def free(self) -> Decimal:
        return max(Decimal(0), self.capacity - self.allocated)


def _skill(value: Any, field: str, default_level: int) -> tuple[str, int]:
    """A skill given as a name, or as {name, level 1-5}."""
    if isinstance(value, dict):
        level = value.get("level")
        return (
            text(value.get("name"), f"{field}.name", limit=200),
            default_level if level is None else integer(level, f"{field}.level", minimum=1, maximum=5),
        )
    return text(value, field, limit=200), default_level


def _skills(value: Any, field: str, default_level: int) -> list[tuple[str, int]]:
    listed = value.split(",") if isinstance(value, str) else items(value, field)
    return [_skill(item, f"{field}[{index}]", default_level) for index, item in enumerate(listed)]


def _hours(value: Any, field: str) -> Decimal:
    hours = decimal(value, field, minimum=Decimal(0))
    if hours == 0:
        raise Invalid(field, "must be more than 0")
    return hours


def parse_needs(value: Any, field: str = "roles") -> list[Need]:
    """Roles from config: [{role, skills: [names or {name, level}], hours, location?}]."""
    needs, seen = [], set()
    for index, item in enumerate(items(value, field, required=True)):
        where = f"{field}[{index}]"
        data = mapping(item, where)
        role = text(data.get("role") or data.get("name"), f"{where}.role", limit=200)
        if role.casefold() in seen:
            raise Invalid(f"{where}.role", f"{role!r} is listed twice")
        seen.add(role.casefold())
        skills = tuple(_skills(data.get("skills"), f"{where}.skills", WANTED_LEVEL))
        location = optional_text(data.get("location"), f"{where}.location")
        needs.append(Need(role, skills, _hours(data.get("hours"), f"{where}.hours"), location))
    return needs


def needs_of_project(roles: tuple[RolePlan, ...], project_id: str) -> list[Need]:
    if not roles:
        raise Invalid("project_id", f"project {project_id} has no roles to staff")
    needs = []
    for index, role in enumerate(roles):
        if role.hours is None or role.hours <= 0:
            raise Invalid(
                "project_id", f"project {project_id} role {role.role!r} (roles[{index}]) has no hours"
            )
        needs.append(Need(role.role, tuple((skill, WANTED_LEVEL) for skill in role.skills), role.hours))
    return needs


def parse_people(value: Any, field: str = "people") -> list[Person]:
    listed = items(value, field, required=True)
    if len(listed) > MAX_PEOPLE:
        raise Invalid(field, f"more than {MAX_PEOPLE} people")
    people, seen = [], set()
    for index, item in enumerate(listed):
        where = f"{field}[{index}]"
        data = mapping(item, where)
        person_id = text(data.get("id"), f"{where}.id", limit=200)
        if person_id in seen:
            raise Invalid(f"{where}.id", f"{person_id!r} is listed twice")
        seen.add(person_id)
        skills = {
            name.casefold(): (name, level)
            for name, level in _skills(data.get("skills"), f"{where}.skills", ASSUMED_LEVEL)
        }
        allocated = data.get("allocated_hours")
        people.append(
            Person(
                person_id=person_id,
                name=text(data.get("name"), f"{where}.name"),
                skills=skills,
                capacity=decimal(data.get("capacity_hours"), f"{where}.capacity_hours", minimum=Decimal(0)),
                allocated=Decimal(0)
                if allocated is None
                else decimal(allocated, f"{where}.allocated_hours", minimum=Decimal(0)),
                location=optional_text(data.get("location"), f"{where}.location"),
            )
        )
    return people


@dataclass(frozen=True)
class Candidate:
    person: Person
    coverage: Decimal
    availability: Decimal
    free: Decimal
    reasons: tuple[str, ...]

    @property
    def score(self) -> Decimal:
        return self.coverage * self.availability

    def as_json(self) -> dict[str, Any]:
        return {
            "person_id": self.person.person_id,
            "name": self.person.name,
            "score": float(self.score.quantize(_SCORE, rounding=ROUND_HALF_UP)),
            "coverage": float(self.coverage.quantize(_SCORE, rounding=ROUND_HALF_UP)),
            "availability": float(self.availability.quantize(_SCORE, rounding=ROUND_HALF_UP)),
            "free_hours": number_out(self.free, 2),
            "location": self.person.location,
            "reasons": list(self.reasons),
        }


def candidate(need: Need, person: Person, free: Decimal, hours: Decimal) -> Candidate:
    """How well `person`, with `free` hours left, fits `hours` of the role."""
    reasons = []
    if need.skills:
        credits = Decimal(0)
        for skill, wanted in need.skills:
            held = person.skills.get(skill.casefold())
            if held is None:
                reasons.append(f"lacks {skill}")
                continue
            credits += Decimal(min(held[1], wanted)) / Decimal(wanted)
            reasons.append(f"{skill}: level {held[1]} of {wanted} wanted")
        coverage = credits / len(need.skills)
    else:
        coverage = Decimal(1)
        reasons.append("the role lists no skills")
    availability = min(Decimal(1), free / hours)
    reasons.append(f"{number_out(free, 2)} free hours for {number_out(hours, 2)} needed")
    if need.location and person.location and need.location.casefold() != person.location.casefold():
        reasons.append(f"based in {person.location}, the role in {need.location}")
    return Candidate(person, coverage, availability, free, tuple(reasons))


def _order(item: Candidate) -> tuple[Decimal, Decimal, str, str]:
    return (-item.score, -item.free, item.person.name.casefold(), item.person.person_id)


def rank(need: Need, people: list[Person]) -> list[Candidate]:
    return sorted((candidate(need, person, person.free, need.hours) for person in people), key=_order)


def propose(
    needs: list[Need], people: list[Person], min_coverage: Decimal
) -> tuple[list[Assignment], list[dict[str, Any]]]:
    """(assignments, roles left with unfilled hours), greedily and within everyone's capacity."""
    free = {person.person_id: person.free for person in people}
    assignments: list[Assignment] = []
    unfilled: list[dict[str, Any]] = []
    for need in needs:
        left, taken = need.hours, set()
        while left > 0:
            options = [
                candidate(need, person, free[person.person_id], left)
                for person in people
                if person.person_id not in taken and free[person.person_id] > 0
            ]
            options = sorted((c for c in options if c.coverage >= min_coverage), key=_order)
            if not options:
                break
            best = options[0]
            hours = min(left, free[best.person.person_id])
            score = float(best.score.quantize(_SCORE, rounding=ROUND_HALF_UP))
            assignments.append(Assignment(need.role, best.person.person_id, best.person.name, hours, score))
            free[best.person.person_id] -= hours
            taken.add(best.person.person_id)
            left -= hours
        if left > 0:
            unfilled.append({"role": need.role, "hours": number_out(left, 2)})
    return assignments, unfilled
