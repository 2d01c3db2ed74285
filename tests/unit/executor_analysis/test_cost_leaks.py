"""Cost leak detection: each kind of finding, the monthly/annual arithmetic and the totals' caps."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowbus_executor.executors.analysis.cost_leaks import detect, detect_config
from flowbus_executor.executors.analysis.saas import Subscription
from flowbus_shared.step_worker import StepFailure


def sub(tool: str, seats: Any, price: Any, billing: str = "monthly", **extra: Any) -> dict[str, Any]:
    return {
        "tool": tool,
        "seats": seats,
        "price_per_seat": price,
        "billing": billing,
        "currency": "USD",
    } | extra


def charges(vendor: str, *amounts: str, day: int = 5, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"vendor": vendor, "amount": amount, "date": f"2025-{month:02d}-{day:02d}"} | extra
        for month, amount in enumerate(amounts, start=1)
    ]


def kinds(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (finding["kind"], finding.get("tool") or finding["vendor"], finding["potential_savings_monthly"])
        for finding in result["findings"]
    ]


def test_unused_annual_seats_are_normalised_to_monthly() -> None:
    result = detect_config({"subscriptions": [sub("Zoom", 50, "149.90", "annual", seats_used=18)]})
    (finding,) = result["findings"]
    assert finding["kind"] == "unused_seats"
    assert finding["unused_seats"] == 32
    assert (finding["potential_savings_monthly"], finding["potential_savings_annual"]) == (
        "399.73",
        "4796.80",
    )
    assert result["by_currency"]["USD"]["subscriptions_annual"] == "7495.00"


def test_fully_used_and_unreported_seats_are_no_leak() -> None:
    result = detect_config({"subscriptions": [sub("Figma", 12, 20, seats_used=12), sub("Linear", 5, 8)]})
    assert result["findings"] == []
    assert result["total_potential_savings_monthly"] == "0.00"


def test_tools_sharing_a_category_keep_the_costliest() -> None:
    result = detect_config(
        {
            "subscriptions": [
                sub("Slack", 120, "8.75", category="Communication"),
                sub("Microsoft Teams", 40, 4, category="communication "),
                sub("Google Chat", 10, 6, category="communication"),
            ]
        }
    )
    (finding,) = result["findings"]
    assert finding["kind"] == "duplicate_tool"
    assert finding["keep"] == "Slack"
    assert finding["tools"] == ["Slack", "Microsoft Teams", "Google Chat"]
    assert finding["potential_savings_monthly"] == "220.00"


def test_one_tool_subscribed_twice() -> None:
    result = detect_config(
        {"subscriptions": [sub("Miro", 10, 10, owner="Design"), sub("MIRO", 4, 10, owner="Sales")]}
    )
    assert kinds(result) == [("duplicate_billing", "MIRO", "40.00")]


def test_a_subscription_also_paid_on_a_card() -> None:
    result = detect_config(
        {
            "subscriptions": [sub("Slack", 100, "8.75", vendor="Slack Technologies")],
            "expenses": charges("SLACK TECHNOLOGIES, INC.", "87.50", "87.50", "87.50"),
        }
    )
    assert kinds(result) == [("duplicate_billing", "Slack", "87.50")]
    assert result["findings"][0]["potential_savings_annual"] == "1050.00"


def test_a_vendor_of_many_products_is_not_taken_for_the_subscription() -> None:
    result = detect_config(
        {
            "subscriptions": [sub("Microsoft Teams", 40, 4, vendor="Microsoft", category="communication")],
            "expenses": charges("Microsoft", "310.00", "310.00", category="cloud"),
        }
    )
    assert result["findings"] == []
    same_category = detect_config(
        {
            "subscriptions": [sub("Microsoft Teams", 40, 4, vendor="Microsoft", category="communication")],
            "expenses": charges("Microsoft", "40.00", "40.00", category="Communication"),
        }
    )
    assert kinds(same_category) == [("duplicate_billing", "Microsoft Teams", "40.00")]


def test_a_one_off_expense_is_not_recurring() -> None:
    expenses = [{"vendor": "Slack", "amount": "87.50", "date": "2025-01-05"}]
    assert detect_config({"subscriptions": [sub("Slack", 1, 1)], "expenses": expenses})["findings"] == []


def test_price_rise_from_history_and_from_the_current_price() -> None:
    history = [{"date": "2024-03-01", "price_per_seat": "15"}, {"date": "2025-03-01", "price_per_seat": "20"}]
    result = detect_config({"subscriptions": [sub("Figma", 12, "20.00", history=history)]})
    (finding,) = result["findings"]
    assert (finding["kind"], finding["previous_price"], finding["latest_price"]) == (
        "price_rise",
        "15.00",
        "20.00",
    )
    assert finding["rise_percent"] == 33.33
    assert (finding["potential_savings_monthly"], finding["potential_savings_annual"]) == ("60.00", "720.00")
    current = detect_config(
        {"subscriptions": [sub("Notion", 10, 12, "monthly", history=[{"date": "2024-01-01", "price": 10}])]}
    )
    assert kinds(current) == [("price_rise", "Notion", "20.00")]


def test_price_rise_threshold_applies() -> None:
    history = [{"date": "2024-01-01", "price_per_seat": "100"}]
    small = {"subscriptions": [sub("Jira", 10, "104.99", history=history)]}
    assert detect_config(small)["findings"] == []
    assert kinds(detect_config(small | {"price_rise_threshold": "4"})) == [("price_rise", "Jira", "49.90")]
    grown = {"expenses": charges("Datadog", "400", "400", "460"), "currency": "USD"}
    assert kinds(detect_config(grown)) == [("price_rise", "Datadog", "60.00")]
    assert detect_config(grown | {"price_rise_threshold": 15})["findings"] == []


def test_quarterly_charges_are_spread_over_three_months() -> None:
    expenses = [
        {"vendor": "Vanta", "amount": amount, "date": day, "currency": "USD"}
        for amount, day in [("3000", "2024-10-01"), ("3000", "2025-01-01"), ("3600", "2025-04-01")]
    ]
    (finding,) = detect_config({"expenses": expenses})["findings"]
    assert (finding["potential_savings_monthly"], finding["potential_savings_annual"]) == (
        "200.00",
        "2400.00",
    )


def test_a_dropped_tool_is_not_counted_again_for_its_unused_seats() -> None:
    result = detect_config(
        {
            "subscriptions": [
                sub("Slack", 120, "8.75", category="chat", seats_used=120),
                sub("Microsoft Teams", 40, 4, category="chat", seats_used=25),
            ]
        }
    )
    assert {finding["kind"]: finding["potential_savings_monthly"] for finding in result["findings"]} == {
        "duplicate_tool": "160.00",
        "unused_seats": "60.00",
    }
    assert result["total_potential_savings_monthly"] == "160.00"  # Teams costs 160 a month in all


def test_several_currencies_are_totalled_apart() -> None:
    result = detect_config(
        {
            "subscriptions": [
                sub("Slack", 10, 8, seats_used=5),
                sub("Personio", 10, 9, currency="EUR", seats_used=8),
            ]
        }
    )
    assert result["currency"] is None
    assert result["total_potential_savings_monthly"] is None
    assert result["by_currency"]["EUR"]["potential_savings_monthly"] == "18.00"
    assert result["by_currency"]["USD"]["potential_savings_monthly"] == "40.00"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"subscriptions": [sub("Slack", 10, 8, billing="weekly")]}, "subscriptions[0].billing"),
        ({"subscriptions": [sub("Slack", "ten", 8)]}, "subscriptions[0].seats"),
        ({"subscriptions": [sub("Slack", 10, "-8")]}, "subscriptions[0].price_per_seat"),
        ({"subscriptions": [sub("", 10, 8)]}, "subscriptions[0].tool"),
        (
            {"subscriptions": [sub("Slack", 10, 8, history=[{"date": "x", "price": 1}])]},
            "subscriptions[0].history[0].date",
        ),
        ({"expenses": [{"vendor": "AWS", "amount": 1, "date": "2025-01-01"}]}, "expenses[0].currency"),
        ({"subscriptions": [], "price_rise_threshold": "lots"}, "price_rise_threshold"),
    ],
)
def test_bad_config_is_refused_naming_the_field(config: dict[str, Any], field: str) -> None:
    with pytest.raises(StepFailure) as failure:
        detect_config(config)
    assert failure.value.error_type == "invalid_config"
    assert failure.value.message.startswith(f"{field}:")


subscriptions = st.lists(
    st.builds(
        Subscription,
        tool=st.sampled_from(["Slack", "Teams", "Zoom", "Figma", "slack"]),
        seats=st.integers(0, 200),
        price_per_seat=st.decimals("0", "500", places=2),
        billing=st.sampled_from(["monthly", "annual"]),
        currency=st.just("USD"),
        category=st.sampled_from([None, "chat", "video"]),
        seats_used=st.one_of(st.none(), st.integers(0, 250)),
    ),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(subscriptions)
def test_savings_never_exceed_what_the_stack_costs(stack: list[Subscription]) -> None:
    result = detect(stack, [])
    row = result["by_currency"].get("USD")
    if row is None:
        assert result["findings"] == []
        return
    assert Decimal(row["potential_savings_annual"]) <= Decimal(row["subscriptions_annual"])
    assert Decimal(row["potential_savings_monthly"]) <= Decimal(row["subscriptions_monthly"])
    for finding in result["findings"]:
        monthly = Decimal(finding["potential_savings_monthly"])
        assert monthly >= 0
        # The annual figure is twelve months of the unrounded monthly one.
        assert abs(monthly * 12 - Decimal(finding["potential_savings_annual"])) <= Decimal("0.06")
