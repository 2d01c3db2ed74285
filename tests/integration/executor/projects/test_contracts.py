"""contract_provision: won deals only, contracts numbered per tenant, the delivery project with
milestones from line items or the default plan, once per deal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.executor.projects.rig import fail, request, rows, succeed
from tests.support.executor_deps import executor_deps

DEAL: dict[str, Any] = {
    "id": "D-1001",
    "name": "Platform rollout",
    "amount": "120,000",
    "currency": "usd",
    "close_date": "2026-03-15T10:00:00Z",  # CRMs send timestamps; the date is what counts
    "stage": "Closed Won",
    "customer": {"name": "Globex"},
}


def provision(tenant: str, deal: dict[str, Any], step_id: str = "step", **config: Any) -> Any:
    return request("contract_provision", {"deal": deal, **config}, tenant, step_id=step_id)


@pytest.mark.parametrize("stage", ["appointmentscheduled", "Closed Lost", "won-ish", ""])
async def test_a_deal_not_won_is_refused_permanently(database_url: str, tenant: str, stage: str) -> None:
    async with executor_deps(database_url) as deps:
        error_type, message, retryable = await fail(deps, provision(tenant, {**DEAL, "stage": stage}))
        contracts = await rows(deps, "contracts", tenant)
        projects = await rows(deps, "projects", tenant)
    if stage:
        assert (error_type, retryable) == ("deal_not_won", False)
        assert "D-1001" in message
        assert stage in message
    else:
        assert (error_type, message) == ("invalid_config", "deal.stage: missing")
    assert contracts == []
    assert projects == []


async def test_a_won_deal_gets_a_contract_and_the_default_plan(database_url: str, tenant: str) -> None:
    async with executor_deps(database_url) as deps:
        output = await succeed(deps, provision(tenant, DEAL))
        [contract_row] = await rows(deps, "contracts", tenant)
        [project_row] = await rows(deps, "projects", tenant)
    contract, project = output["contract"], output["project"]
    assert output["created"] is True
    assert {key: contract[key] for key in ("number", "deal_id", "customer", "value", "currency")} == {
        "number": "CT-000001",
        "deal_id": "D-1001",
        "customer": "Globex",
        "value": "120000.00",
        "currency": "USD",
    }
    assert (contract["term_months"], contract["start_date"], contract["end_date"]) == (
        12,
        "2026-03-15",
        "2027-03-14",
    )
    assert contract["project_id"] == project["project_id"] == project_row["project_id"]
    assert (project["name"], project["budget"], project["source"]) == (
        "Globex: Platform rollout",
        "120000.00",
        "contract",
    )
    assert [(m["name"], m["due_date"], m["amount"]) for m in project["milestones"]] == [
        ("Kickoff", "2026-03-29", "12000.00"),
        ("Delivery", "2026-12-31", "72000.00"),
        ("Acceptance", "2027-03-14", "36000.00"),
    ]
    assert contract_row["value"] == Decimal("120000.00")
    assert contract_row["end_date"] == date(2027, 3, 14)


async def test_contract_numbers_are_sequential_per_tenant_and_once_per_deal(
    database_url: str, tenant: str
) -> None:
    async with executor_deps(database_url) as deps:
        first = await succeed(deps, provision(tenant, DEAL, "a"))
        second = await succeed(deps, provision(tenant, {**DEAL, "id": "D-1002", "stage": "closedwon"}, "b"))
        # The same deal again, from another step: the first contract, nothing new.
        again = await succeed(deps, provision(tenant, {**DEAL, "stage": "WON"}, "c"))
        other_tenant = await succeed(deps, provision(f"{tenant}-other", DEAL))
        contracts = await rows(deps, "contracts", tenant)
        projects = await rows(deps, "projects", tenant)
    assert first["contract"]["number"] == "CT-000001"
    assert second["contract"]["number"] == "CT-000002"
    assert again["created"] is False
    assert again["contract"] == first["contract"]
    assert again["project"] == first["project"]
    assert other_tenant["contract"]["number"] == "CT-000001"
    assert sorted(row["number"] for row in contracts) == ["CT-000001", "CT-000002"]
    assert len(projects) == 2


async def test_line_items_become_milestones(database_url: str, tenant: str) -> None:
    deal = {
        **DEAL,
        "amount": 10000,
        "stage": "closed_won",
        "customer": "Initech",
        "term_months": 6,
        "start_date": "2026-04-01",
        "line_items": [
            {"name": "Licenses", "quantity": 10, "price": "500"},
            {"name": "Onboarding", "amount": 3000, "due_date": "2026-04-30", "deliverables": ["Training"]},
            {"name": "Licenses", "amount": 2000},
        ],
    }
    roles = [{"role": "Consultant", "skills": ["sap"], "hours": 120}]
    async with executor_deps(database_url) as deps:
        output = await succeed(deps, provision(tenant, deal, roles=roles))
        milestones = await rows(deps, "project_milestones", tenant)
    contract, project = output["contract"], output["project"]
    assert (contract["start_date"], contract["end_date"]) == ("2026-04-01", "2026-09-30")
    assert [item["amount"] for item in contract["line_items"]] == ["5000.00", "3000.00", "2000.00"]
    # Undated items are spread over the term; a repeated product gets a numbered milestone.
    assert [(m["name"], m["due_date"], m["amount"], m["deliverables"]) for m in project["milestones"]] == [
        ("Onboarding", "2026-04-30", "3000.00", ["Training"]),
        ("Licenses", "2026-05-31", "5000.00", ["Licenses"]),
        ("Licenses (2)", "2026-09-30", "2000.00", ["Licenses"]),
    ]
    assert project["roles"] == [{"role": "Consultant", "skills": ["sap"], "hours": 120}]
    assert len(milestones) == 3


async def test_bad_deals_are_invalid_config_naming_the_field(database_url: str, tenant: str) -> None:
    mismatch = {**DEAL, "line_items": [{"name": "Licenses", "amount": 100}]}
    outside = {**DEAL, "amount": 100, "line_items": [{"name": "X", "amount": 100, "due_date": "2030-01-01"}]}
    cases = [
        (mismatch, "deal.line_items: line items total 100.00, not the deal's amount 120000.00"),
        (outside, "deal.line_items[0].due_date"),
        ({**DEAL, "amount": -5}, "deal.amount"),
        ({**DEAL, "currency": "dollars"}, "deal.currency"),
        ({**DEAL, "term_months": 0}, "deal.term_months"),
        ({key: value for key, value in DEAL.items() if key != "close_date"}, "deal.close_date: missing"),
    ]
    async with executor_deps(database_url) as deps:
        for index, (deal, named) in enumerate(cases):
            error_type, message, retryable = await fail(deps, provision(tenant, deal, f"s{index}"))
            assert (error_type, retryable) == ("invalid_config", False)
            assert named in message
        missing = await fail(deps, request("contract_provision", {}, tenant, step_id="none"))
        assert missing[:2] == ("invalid_config", "deal: missing")
        assert await rows(deps, "contracts", tenant) == []
