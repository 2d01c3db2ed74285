"""Budget checks: statuses at their edges, requests, periods, grouping, and currencies kept apart."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowbus_executor.executors.analysis.budgets import (
    Budget,
    Request,
    Rules,
    Spend,
    check,
    check_config,
    period_from,
)
from flowbus_shared.step_worker import StepFailure

AS_OF = "2025-03-31"


def run(**config: Any) -> dict[str, Any]:
    return check_config({"as_of": AS_OF, **config})


def rows(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["category"]: row for row in result["categories"]}


def spend(category: str, amount: Any, day: str | None = "2025-03-10", **extra: Any) -> dict[str, Any]:
    return {"category": category, "amount": amount, "currency": "USD", "date": day} | extra


@pytest.mark.parametrize(
    ("spent", "status", "percent"),
    [
        ("0", "ok", 0.0),
        ("799.99", "ok", 80.0),
        ("800", "warning", 80.0),
        ("1000", "warning", 100.0),
        ("1000.01", "over", 100.0),
        ("1500", "over", 150.0),
    ],
)
def test_status_at_its_edges(spent: str, status: str, percent: float) -> None:
    result = run(budgets={"travel": 1000}, currency="USD", spend=[spend("travel", spent)])
    row = rows(result)["travel"]
    assert (row["status"], row["percent_used"]) == (status, percent)
    assert row["remaining"] == f"{Decimal(1000) - Decimal(spent):.2f}"
    assert result["allowed"] is (status != "over")


def test_warning_percent_is_configurable() -> None:
    result = run(budgets={"travel": 1000}, spend=[spend("travel", 600)], warning_percent=60)
    assert rows(result)["travel"]["status"] == "warning"


def test_a_request_that_exactly_uses_up_the_budget_is_allowed() -> None:
    base = {
        "budgets": [{"category": "Software", "limit": "5000", "currency": "USD"}],
        "spend": [spend("software", "4200")],
    }
    allowed = run(**base, category="SOFTWARE", amount="800.00", currency="USD")
    assert (allowed["allowed"], allowed["remaining_after"], allowed["category"]) == (True, "0.00", "Software")
    assert rows(allowed)["Software"]["status_after"] == "warning"
    refused = run(**base, category="Software", amount="800.01")
    assert (refused["allowed"], refused["remaining_after"]) == (False, "-0.01")
    assert rows(refused)["Software"]["status_after"] == "over"


def test_a_request_alone_counts_the_budgets_own_spent_figure() -> None:
    result = run(
        budgets={"ads": {"limit": 2000, "spent": "1900", "currency": "EUR"}}, category="ads", amount=150
    )
    assert (result["allowed"], result["remaining_after"], result["currency"]) == (False, "-50.00", "EUR")


def test_unbudgeted_spend() -> None:
    result = run(budgets={"travel": 1000}, spend=[spend("travel", 100), spend("Gifts", "250")])
    gifts = rows(result)["Gifts"]
    assert (gifts["status"], gifts["limit"], gifts["spent"]) == ("no_budget", None, "250.00")
    assert (result["allowed"], result["no_budget"], result["unbudgeted_spent"]) == (
        False,
        ["Gifts"],
        "250.00",
    )
    assert run(budgets={"travel": 1000}, spend=[spend("Gifts", 1)], allow_unbudgeted=True)["allowed"] is True
    request = run(budgets={"travel": 1000}, category="gifts", amount=10)
    assert (request["allowed"], request["remaining_after"]) == (False, None)
    assert (
        run(budgets={"travel": 1000}, category="gifts", amount=10, allow_unbudgeted="yes")["allowed"] is True
    )


def test_a_currency_other_than_the_budgets_is_refused() -> None:
    budgets = [{"category": "travel", "limit": 1000, "currency": "EUR"}]
    with pytest.raises(StepFailure) as failure:
        run(budgets=budgets, spend=[spend("travel", 10)])
    assert failure.value.error_type == "invalid_config"
    assert failure.value.message.startswith("spend[0].currency: USD does not match")
    with pytest.raises(StepFailure, match=r"^currency:"):
        run(budgets=budgets, category="travel", amount=5, currency="USD")
    with pytest.raises(StepFailure, match=r"^spend\[1\]\.currency:"):
        run(budgets={}, spend=[spend("gifts", 1), spend("gifts", 1, currency="GBP")])


def test_periods_count_only_the_spend_inside_them() -> None:
    budgets = [
        {"category": "q1", "limit": 100, "period": "2025-Q1"},
        {"category": "march", "limit": 100, "period": "2025-03"},
        {"category": "current", "limit": 100, "period": "monthly"},
        {"category": "range", "limit": 100, "period": "2025-02-15/2025-03-15"},
    ]
    days = ["2024-12-31", "2025-01-01", "2025-02-20", "2025-03-31", "2025-04-01", None]
    items = [spend(name, 1, day) for name in ("q1", "march", "current", "range") for day in days]
    result = rows(run(budgets=budgets, spend=items))
    spent = {name: row["spent"] for name, row in result.items()}
    assert spent == {"q1": "4.00", "march": "2.00", "current": "2.00", "range": "2.00"}
    assert (result["q1"]["period"], result["current"]["period"]) == ("2025-Q1", "2025-03")


def test_period_forms() -> None:
    as_of = dt.date(2025, 5, 17)

    def bounds(value: Any) -> tuple[dt.date, dt.date, str]:
        period = period_from(value, "p", as_of)
        assert period is not None
        return period.start, period.end, period.label

    assert bounds("2024") == (dt.date(2024, 1, 1), dt.date(2024, 12, 31), "2024")
    assert bounds("quarterly") == (dt.date(2025, 4, 1), dt.date(2025, 6, 30), "2025-Q2")
    assert bounds("annual")[2] == "2025"
    assert bounds("2024-02") == (dt.date(2024, 2, 1), dt.date(2024, 2, 29), "2024-02")
    assert bounds("2024-12")[1] == dt.date(2024, 12, 31)
    assert bounds({"start": "2025-01-01", "end": "2025-12-31"})[2] == "2025-01-01/2025-12-31"
    assert period_from(None, "p", as_of) is None
    for bad in ("fortnightly", "2025-13", "2025-Q5", "2025-03-01/2025-02-01"):
        with pytest.raises(StepFailure, match=r"^budgets\[0\]\.period:"):
            period_from(bad, "budgets[0].period", as_of)


def test_deal_stages_and_milestones() -> None:
    stages = run(
        group_by="deal_stage",
        budgets={"Discovery": 500, "Proposal": 2000},
        spend=[{"stage": "discovery", "amount": 450}, {"deal_stage": "Proposal", "amount": 100}],
        stage="Proposal",
        amount=1900,
    )
    assert rows(stages)["Discovery"]["status"] == "warning"
    assert (stages["allowed"], stages["remaining_after"], stages["group_by"]) == (True, "0.00", "deal_stage")
    milestones = run(
        group_by="milestone",
        budgets=[{"milestone": "M1 design", "limit": 10000, "currency": "EUR"}],
        spend=[{"milestone": "M1 Design", "amount": "10500", "currency": "EUR"}],
    )
    assert milestones["over_budget"] == ["M1 design"]
    with pytest.raises(StepFailure, match=r"^spend\[0\]\.stage: missing"):
        run(group_by="deal_stage", budgets={"a": 1}, spend=[{"amount": 1}])


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({}, "budgets"),
        ({"budgets": "lots"}, "budgets"),
        ({"budgets": {"travel": "a grand"}}, "budgets.travel.limit"),
        ({"budgets": [{"category": "a", "limit": -5}]}, "budgets[0].limit"),
        ({"budgets": [{"category": "a", "limit": 5}, {"category": "A ", "limit": 5}]}, "budgets[1]"),
        ({"budgets": [{"limit": 5}]}, "budgets[0].category"),
        ({"budgets": {"a": 1}, "spend": [{"category": "a", "amount": "12,5"}]}, "spend[0].amount"),
        ({"budgets": {"a": 1}, "amount": 5}, "category"),
        ({"budgets": {"a": 1}, "category": "a", "amount": -5}, "amount"),
        ({"budgets": {"a": 1}, "group_by": "region"}, "group_by"),
        ({"budgets": {"a": 1}, "warning_percent": "high"}, "warning_percent"),
    ],
)
def test_bad_config_is_refused_naming_the_field(config: dict[str, Any], field: str) -> None:
    with pytest.raises(StepFailure) as failure:
        check_config(config)
    assert failure.value.error_type == "invalid_config"
    assert failure.value.message.startswith(f"{field}:")


def test_several_currencies_are_totalled_apart() -> None:
    result = run(
        budgets=[
            {"category": "us", "limit": 100, "currency": "USD"},
            {"category": "eu", "limit": 50, "currency": "EUR"},
        ]
    )
    assert (result["currency"], result["total_limit"]) == (None, None)
    assert result["by_currency"]["EUR"]["total_limit"] == "50.00"


names = st.sampled_from(["travel", "Travel", "software", "ads", "gifts"])
money = st.decimals("-500", "5000", places=2)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["travel", "software", "ads"]), st.decimals("0", "5000", places=2)),
    st.lists(st.tuples(names, money), max_size=12),
    st.one_of(st.none(), st.tuples(names, st.decimals("0", "3000", places=2))),
)
def test_remaining_is_the_limit_less_what_was_spent(
    limits: dict[str, Decimal], items: list[tuple[str, Decimal]], asked: tuple[str, Decimal] | None
) -> None:
    budgets = [Budget(name, limit, "USD") for name, limit in limits.items()]
    request = None if asked is None else Request(asked[0], asked[1], "USD")
    result = check(budgets, [Spend(name, amount, "USD") for name, amount in items], request, Rules())
    spent_by_name: dict[str, Decimal] = {}
    for name, amount in items:
        spent_by_name[name.lower()] = spent_by_name.get(name.lower(), Decimal(0)) + amount
    for row in result["categories"]:
        spent = spent_by_name.get(row["category"].lower(), Decimal(0))
        assert Decimal(row["spent"]) == spent
        if row["status"] == "no_budget":
            assert row["category"].lower() not in limits
            continue
        limit = limits[row["category"]]
        assert Decimal(row["remaining"]) == limit - spent
        assert (row["status"] == "over") is (spent > limit)
        if request is not None and "allowed" in row:
            assert row["allowed"] is (spent + request.amount <= limit)
            assert Decimal(row["remaining_after"]) == limit - spent - request.amount
    assert Decimal(result["total_spent"]) == sum(spent_by_name.values(), Decimal(0))
    assert Decimal(result["total_limit"]) == sum(limits.values(), Decimal(0))
    if request is None:
        assert result["allowed"] is (not result["over_budget"] and not result["no_budget"])
