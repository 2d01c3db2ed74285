"""auto_staffing: candidates ranked by level-weighted skill coverage x availability, ties by
free hours then name, a greedy proposal within everyone's capacity, stored when asked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.integration.executor.projects.rig import fail, request, rows, succeed
from tests.support.executor_deps import executor_deps

ROLES: list[dict[str, Any]] = [
    {"role": "Backend engineer", "skills": [{"name": "Python", "level": 4}, "postgres"], "hours": 100},
    {"role": "Designer", "skills": ["figma"], "hours": 40, "location": "Berlin"},
]
PEOPLE: list[dict[str, Any]] = [
    {
        "id": "p-alice",
        "name": "Alice",
        "skills": [{"name": "python", "level": 5}, {"name": "postgres", "level": 3}],
        "capacity_hours": 160,
        "allocated_hours": 100,
    },
    {
        "id": "p-bob",
        "name": "Bob",
        "skills": [{"name": "python", "level": 4}, {"name": "postgres", "level": 5}],
        "capacity_hours": 160,
        "allocated_hours": 0,
    },
    # Skills given as names count as level 3.
    {
        "id": "p-carol",
        "name": "Carol",
        "skills": ["python", "figma"],
        "capacity_hours": 40,
        "location": "Lisbon",
    },
    {
        "id": "p-dave",
        "name": "Dave",
        "skills": [{"name": "python", "level": 4}, {"name": "postgres", "level": 5}],
        "capacity_hours": 120,
        "allocated_hours": 20,
    },
    {
        "id": "p-erin",
        "name": "Erin",
        "skills": [{"name": "figma", "level": 5}],
        "capacity_hours": 100,
        "allocated_hours": 100,
    },
]


def staffing(tenant: str, step_id: str = "step", **config: Any) -> Any:
    return request("auto_staffing", config, tenant, step_id=step_id)


def ranked(role: dict[str, Any]) -> list[tuple[str, float]]:
    return [(candidate["person_id"], candidate["score"]) for candidate in role["candidates"]]


async def test_ranks_by_coverage_and_availability_and_proposes_within_capacity(
    database_url: str, tenant: str
) -> None:
    async with executor_deps(database_url) as deps:
        output = await succeed(deps, staffing(tenant, roles=ROLES, people=PEOPLE))
        stored = await rows(deps, "staffing_assignments", tenant)
    backend, designer = output["roles"]
    # Bob and Dave cover everything and are free enough: Bob has more free hours. Alice covers 0.8
    # (postgres 3 of 5 wanted) with 60 of 100 hours free; Carol 0.375 with 40 free.
    assert ranked(backend) == [
        ("p-bob", 1.0),
        ("p-dave", 1.0),
        ("p-alice", 0.48),
        ("p-carol", 0.15),
        ("p-erin", 0.0),
    ]
    assert backend["skills"] == [{"name": "Python", "level": 4}, {"name": "postgres", "level": 5}]
    alice = backend["candidates"][2]
    assert (alice["coverage"], alice["availability"], alice["free_hours"]) == (0.8, 0.6, 60)
    assert alice["reasons"] == [
        "Python: level 5 of 4 wanted",
        "postgres: level 3 of 5 wanted",
        "60 free hours for 100 needed",
    ]
    # Nobody else knows figma; Erin is an expert with no free hours.
    assert ranked(designer)[:2] == [("p-carol", 0.6), ("p-bob", 0.0)]
    assert "based in Lisbon, the role in Berlin" in designer["candidates"][0]["reasons"]
    assert [(a["role"], a["person_id"], a["hours"]) for a in output["assignments"]] == [
        ("Backend engineer", "p-bob", 100),
        ("Designer", "p-carol", 40),
    ]
    assert (output["unfilled"], output["assigned"]) == ([], False)
    assert stored == []  # a proposal only


async def test_hours_split_across_people_and_what_is_left_is_unfilled(database_url: str, tenant: str) -> None:
    roles = [
        {"role": "Backend engineer", "skills": ["python", "postgres"], "hours": 250},
        {"role": "Data engineer", "skills": ["python"], "hours": 80},
    ]
    async with executor_deps(database_url) as deps:
        output = await succeed(deps, staffing(tenant, roles=roles, people=PEOPLE))
    plan = [(a["role"], a["person_id"], a["hours"]) for a in output["assignments"]]
    assert plan == [
        ("Backend engineer", "p-bob", 160),
        ("Backend engineer", "p-dave", 90),
        ("Data engineer", "p-alice", 60),
        # 20 hours left: Carol (python 3 of 5, 40 free) now beats Dave (python 4 of 5, 10 free).
        ("Data engineer", "p-carol", 20),
    ]
    free = {"p-alice": 60, "p-bob": 160, "p-carol": 40, "p-dave": 100}
    for person, hours in free.items():
        assert sum(a["hours"] for a in output["assignments"] if a["person_id"] == person) <= hours
    assert output["unfilled"] == []


async def test_ties_go_to_more_free_hours_then_the_name(database_url: str, tenant: str) -> None:
    twins = [
        {"id": f"p-{name.lower()}", "name": name, "skills": ["go"], "capacity_hours": capacity}
        for name, capacity in [("Zed", 50), ("Amy", 50), ("Max", 80)]
    ]
    async with executor_deps(database_url) as deps:
        output = await succeed(
            deps, staffing(tenant, roles=[{"role": "Dev", "skills": ["go"], "hours": 10}], people=twins)
        )
    assert [c["name"] for c in output["roles"][0]["candidates"]] == ["Max", "Amy", "Zed"]


async def test_the_project_roles_are_staffed_and_stored_once(database_url: str, tenant: str) -> None:
    project_plan = {
        "name": "Data platform",
        "start_date": "2026-01-01",
        "end_date": "2026-06-30",
        "roles": [{"role": "Backend engineer", "skills": ["python", "postgres"], "hours": 120}],
    }
    async with executor_deps(database_url) as deps:
        project = await succeed(
            deps, request("project_create", {"project": project_plan}, tenant, step_id="p")
        )
        step = staffing(tenant, project_id=project["project_id"], people=PEOPLE, assign=True)
        first = await succeed(deps, step)
        again = await succeed(deps, step)
        stored = await rows(deps, "staffing_assignments", tenant)
    assert first["assigned"] is True
    assert [(a["person_id"], a["hours"], a["project_id"]) for a in first["assignments"]] == [
        ("p-bob", 120, project["project_id"])
    ]
    assert first["assignments"][0]["assignment_id"].startswith("asg_")
    assert again["assignments"] == first["assignments"]
    assert [(row["person_id"], row["hours"]) for row in stored] == [("p-bob", Decimal("120.00"))]


async def test_bad_staffing_config_names_the_field(database_url: str, tenant: str) -> None:
    no_hours_plan = {
        "name": "Loose",
        "start_date": "2026-01-01",
        "end_date": "2026-02-01",
        "roles": [{"role": "Analyst", "skills": ["sql"]}],
    }
    async with executor_deps(database_url) as deps:
        project = await succeed(
            deps, request("project_create", {"project": no_hours_plan}, tenant, step_id="p")
        )
        cases = [
            ({"people": PEOPLE}, "roles: missing"),
            ({"roles": ROLES}, "people: missing"),
            ({"roles": [{"role": "X", "skills": ["a"], "hours": 0}], "people": PEOPLE}, "roles[0].hours"),
            (
                {"roles": ROLES, "people": [{**PEOPLE[0], "skills": [{"name": "go", "level": 9}]}]},
                "people[0].skills[0].level",
            ),
            ({"roles": ROLES, "people": [PEOPLE[0], PEOPLE[0]]}, "people[1].id"),
            (
                {"project_id": project["project_id"], "people": PEOPLE},
                "role 'Analyst' (roles[0]) has no hours",
            ),
        ]
        for index, (config, named) in enumerate(cases):
            error_type, message, retryable = await fail(deps, staffing(tenant, f"s{index}", **config))
            assert (error_type, retryable) == ("invalid_config", False), message
            assert named in message
        missing = await fail(deps, staffing(tenant, "m", project_id="prj_missing", people=PEOPLE))
    assert missing[0] == "not_found"
