"""project_create: a brief through a loopback OpenAI-compatible double standing in for the
llm-gateway (`POST /v1/chat/completions` with a json_schema response_format), or a structured
project from config; what is stored, once per step attempt, on both database backends."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from tests.integration.executor.projects.rig import fail, request, rows, succeed
from tests.support.executor_deps import executor_deps
from tests.support.http_double import Recorded, chat_completion, http_double

BRIEF = (
    "Acme Corp wants a customer portal rebuilt from 1 March to 31 August 2026, budget 90,000 EUR: "
    "discovery paid 10,000 at the end of March, the beta 50,000 by mid June, launch 30,000 at the end."
)
PLAN: dict[str, Any] = {
    "name": "Acme customer portal",
    "description": "Rebuild of Acme's customer portal.",
    "start_date": "2026-03-01",
    "end_date": "2026-08-31",
    "budget": 90000,
    "currency": "eur",
    "milestones": [
        # Out of order on purpose: the stored plan is ordered by due date.
        {"name": "Launch", "due_date": "2026-08-31", "amount": 30000, "deliverables": ["Go-live"]},
        {"name": "Discovery", "due_date": "2026-03-31", "amount": 10000, "deliverables": ["Requirements"]},
        {"name": "Beta", "due_date": "2026-06-15", "amount": 49999.5},
    ],
    "roles": [
        {"role": "Frontend engineer", "skills": ["react", "typescript"], "hours": 480},
        {"role": "Designer", "skills": ["figma"]},
    ],
}


def answering(plan: Any) -> Any:
    def respond(_recorded: Recorded) -> tuple[int, Any]:
        return 200, chat_completion(json.dumps(plan))

    return respond


async def test_a_brief_becomes_a_stored_project(database_url: str, tenant: str) -> None:
    with http_double(answering(PLAN)) as double:
        async with executor_deps(database_url, llm_gateway_url=f"{double.url}/v1") as deps:
            output = await succeed(deps, request("project_create", {"brief": BRIEF}, tenant))
            projects = await rows(deps, "projects", tenant)
            milestones = await rows(deps, "project_milestones", tenant)

    [call] = double.requests
    assert (call.method, call.path) == ("POST", "/v1/chat/completions")
    assert call.headers["x-flowbus-tenant"] == tenant
    messages = call.body["messages"]
    assert messages[0]["role"] == "system"
    assert messages[-1]["role"] == "user"
    assert BRIEF in messages[-1]["content"]
    response_format = call.body["response_format"]
    assert response_format["type"] == "json_schema"
    schema = response_format["json_schema"]["schema"]
    assert {"name", "start_date", "end_date", "milestones", "roles"} <= set(schema["required"])

    assert output["project_id"].startswith("prj_")
    assert (output["name"], output["start_date"], output["end_date"]) == (
        "Acme customer portal",
        "2026-03-01",
        "2026-08-31",
    )
    assert (output["budget"], output["currency"], output["source"]) == ("90000.00", "EUR", "brief")
    assert [(m["name"], m["due_date"], m["amount"]) for m in output["milestones"]] == [
        ("Discovery", "2026-03-31", "10000.00"),
        ("Beta", "2026-06-15", "49999.50"),
        ("Launch", "2026-08-31", "30000.00"),
    ]
    assert all(m["milestone_id"].startswith("ms_") and not m["completed"] for m in output["milestones"])
    assert output["roles"] == [
        {"role": "Frontend engineer", "skills": ["react", "typescript"], "hours": 480},
        {"role": "Designer", "skills": ["figma"], "hours": None},
    ]

    [project] = projects
    assert project["project_id"] == output["project_id"]
    assert project["budget"] == Decimal("90000.00")
    assert sorted((m["name"], m["amount"]) for m in milestones) == [
        ("Beta", Decimal("49999.50")),
        ("Discovery", Decimal("10000.00")),
        ("Launch", Decimal("30000.00")),
    ]
    assert {m["project_id"] for m in milestones} == {output["project_id"]}


async def test_a_redelivered_attempt_returns_the_first_project_without_asking_again(
    database_url: str, tenant: str
) -> None:
    step = request("project_create", {"brief": BRIEF}, tenant)
    with http_double(answering(PLAN)) as double:
        async with executor_deps(database_url, llm_gateway_url=f"{double.url}/v1") as deps:
            first = await succeed(deps, step)
            again = await succeed(deps, step)
            projects = await rows(deps, "projects", tenant)
    assert again == first
    assert len(double.requests) == 1
    assert len(projects) == 1


async def test_an_answer_ending_before_it_starts_is_a_retryable_bad_response(
    database_url: str, tenant: str
) -> None:
    backwards = {**PLAN, "start_date": "2026-09-01", "end_date": "2026-03-01", "milestones": []}
    with http_double(answering(backwards)) as double:
        async with executor_deps(database_url, llm_gateway_url=f"{double.url}/v1") as deps:
            error_type, message, retryable = await fail(
                deps, request("project_create", {"brief": BRIEF}, tenant)
            )
            projects = await rows(deps, "projects", tenant)
            milestones = await rows(deps, "project_milestones", tenant)
    assert (error_type, retryable) == ("bad_response", True)
    assert "project.end_date" in message
    assert "not after start_date" in message
    assert projects == []
    assert milestones == []


async def test_answers_breaking_the_plan_rules_name_what_is_wrong(database_url: str, tenant: str) -> None:
    outside = {**PLAN, "milestones": [{"name": "Late", "due_date": "2026-10-01"}]}
    twice = {**PLAN, "milestones": [{"name": "Beta", "due_date": "2026-04-01"}] * 2}
    negative = {**PLAN, "milestones": [{"name": "Beta", "due_date": "2026-04-01", "amount": -5}]}
    over_budget = {**PLAN, "budget": 1000}
    not_fitting = {key: value for key, value in PLAN.items() if key != "milestones"}
    cases = [
        (outside, "project.milestones[0].due_date"),
        (twice, "project.milestones[1].name"),
        (negative, "project.milestones[0].amount"),
        (over_budget, "more than the budget"),
        (not_fitting, "does not fit"),  # the schema check of ask_json
    ]
    for index, (answer, named) in enumerate(cases):
        with http_double(answering(answer)) as double:
            async with executor_deps(database_url, llm_gateway_url=f"{double.url}/v1") as deps:
                step = request("project_create", {"brief": BRIEF}, tenant, step_id=f"s{index}")
                error_type, message, retryable = await fail(deps, step)
        assert (error_type, retryable) == ("bad_response", True), message
        assert named in message
    async with executor_deps(database_url) as deps:
        assert await rows(deps, "projects", tenant) == []


async def test_a_structured_project_needs_no_model(database_url: str, tenant: str) -> None:
    async with executor_deps(database_url) as deps:  # no llm-gateway configured at all
        output = await succeed(deps, request("project_create", {"project": PLAN}, tenant))
        projects = await rows(deps, "projects", tenant)
    assert output["source"] == "config"
    assert [m["name"] for m in output["milestones"]] == ["Discovery", "Beta", "Launch"]
    assert [p["project_id"] for p in projects] == [output["project_id"]]


async def test_bad_config_is_permanent_and_names_the_field(database_url: str, tenant: str) -> None:
    bad = {**PLAN, "milestones": [{"name": "Kickoff", "due_date": "first of March"}]}
    async with executor_deps(database_url) as deps:
        invalid = await fail(deps, request("project_create", {"project": bad}, tenant))
        missing = await fail(deps, request("project_create", {}, tenant, step_id="other"))
        no_gateway = await fail(deps, request("project_create", {"brief": BRIEF}, tenant, step_id="third"))
        projects = await rows(deps, "projects", tenant)
    assert invalid[0] == "invalid_config"
    assert not invalid[2]
    assert "project.milestones[0].due_date" in invalid[1]
    assert missing[0] == "invalid_config"
    assert "brief" in missing[1]
    assert no_gateway[0] == "no_llm_gateway"
    assert projects == []
