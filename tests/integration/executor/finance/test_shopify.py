"""ecommerce_sync: a Shopify order with a discount code, tax, shipping, a processing fee and
a partial refund, booked as balanced entries; re-runs post nothing new; refunds reverse."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.finance import balance, chart, trial_balance
from tests.integration.executor.finance.conftest import Run
from tests.integration.executor.finance.fixtures import shopify_order

D = Decimal
FEES = {"fee_rate": "0.029", "fee_fixed": "0.30"}


def lines(entry: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(line["account"], line["debit"], line["credit"]) for line in entry["lines"]]


async def synced(run: Run, config: dict[str, Any], **options: Any) -> dict[str, Any]:
    result = await run("ecommerce_sync", config, **options)
    assert result.status == "succeeded", result.error
    assert result.output is not None
    return result.output


async def account_balances(deps: ExecutorDeps, tenant: str, currency: str = "USD") -> dict[str, Decimal]:
    codes = ["1000", "1100", "2100", "4000", "4100", "4900", "6100"]
    return {code: (await balance(deps.engine, tenant, code)).get(currency, D(0)) for code in codes}


async def test_order_with_discount_tax_shipping_fee_and_refund(
    run: Run, deps: ExecutorDeps, tenant: str
) -> None:
    output = await synced(run, {"order": shopify_order(), **FEES})
    assert (output["order_id"], output["order_name"], output["currency"]) == ("5550001001", "#1001", "USD")
    sale, refund = output["entries"]
    assert sale["kind"] == "sale"
    assert sale["date"] == "2026-11-10"
    # 115.02 x 2.9% + 0.30 = 3.63558, rounded to 3.64.
    assert lines(sale) == [
        ("4000", "0.00", "110.00"),
        ("4900", "11.00", "0.00"),
        ("4100", "0.00", "7.50"),
        ("2100", "0.00", "8.52"),
        ("1000", "115.02", "0.00"),
        ("6100", "3.64", "0.00"),
        ("1000", "0.00", "3.64"),
    ]
    assert (refund["kind"], refund["refund_id"], refund["date"]) == ("refund", "7001", "2026-11-12")
    # One shirt back: 45.00 of revenue less its 4.50 discount share, 3.24 tax, 43.74 paid out.
    assert lines(refund) == [
        ("4000", "45.00", "0.00"),
        ("4900", "0.00", "4.50"),
        ("2100", "3.24", "0.00"),
        ("1000", "0.00", "43.74"),
    ]
    for entry in output["entries"]:
        assert sum(D(line["debit"]) for line in entry["lines"]) == sum(
            D(line["credit"]) for line in entry["lines"]
        )
    summary = output["summary"]
    assert {name: summary[name] for name in summary if name != "notes"} == {
        "gross_sales": "110.00",
        "discounts": "11.00",
        "net_sales": "99.00",
        "shipping": "7.50",
        "tax": "8.52",
        "total": "115.02",
        "paid": "115.02",
        "fees": "3.64",
        "receivable": "0.00",
        "refunded": "43.74",
        "refunded_revenue": "40.50",
        "refunded_shipping": "0.00",
        "refunded_tax": "3.24",
        "net_sales_after_refunds": "58.50",
        "net_cash": "67.64",
    }
    assert await account_balances(deps, tenant) == {
        "1000": D("67.64"),
        "1100": D("0"),
        "2100": D("5.28"),
        "4000": D("65.00"),
        "4100": D("7.50"),
        "4900": D("6.50"),  # contra revenue: a debit balance
        "6100": D("3.64"),
    }
    trial = await trial_balance(deps.engine, tenant)
    assert trial.balanced
    assert trial.net("USD") == 0


async def test_resync_posts_only_new_refunds(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    order = shopify_order()
    second_refund = copy.deepcopy(order["refunds"][0])
    order["refunds"] = []
    first = await synced(run, {"order": {"order": order}, **FEES})  # the API's {"order": ...} envelope
    assert [entry["kind"] for entry in first["entries"]] == ["sale"]
    again = await synced(run, {"order": order, **FEES}, attempt=2)
    assert again["entries"][0]["entry_id"] == first["entries"][0]["entry_id"]
    assert again["entries"][0]["posted_now"] is False
    # Later the tote is refunded with its shipping (a shipping_refund adjustment, taxed).
    second_refund.update(
        id=7002,
        refund_line_items=[{"line_item_id": 222, "quantity": 1, "subtotal": "18.00", "total_tax": "1.44"}],
        order_adjustments=[{"kind": "shipping_refund", "amount": "-7.50", "tax_amount": "-0.60"}],
        transactions=[
            {"kind": "refund", "status": "success", "amount": "27.54", "gateway": "shopify_payments"}
        ],
    )
    order["refunds"] = [second_refund]
    later = await synced(run, {"order": order, **FEES}, attempt=3)
    assert [(entry["kind"], entry["posted_now"]) for entry in later["entries"]] == [
        ("sale", False),
        ("refund", True),
    ]
    assert lines(later["entries"][1]) == [
        ("4000", "20.00", "0.00"),
        ("4900", "0.00", "2.00"),
        ("4100", "7.50", "0.00"),
        ("2100", "2.04", "0.00"),
        ("1000", "0.00", "27.54"),
    ]
    balances = await account_balances(deps, tenant)
    assert balances["4100"] == D("0.00")
    assert balances["1000"] == D("115.02") - D("3.64") - D("27.54")
    assert balances["2100"] == D("8.52") - D("2.04")


async def test_unpaid_order_is_receivable_and_refund_reduces_it(
    run: Run, deps: ExecutorDeps, tenant: str
) -> None:
    order = shopify_order()
    order["transactions"] = []  # payment pending: the customer owes the total
    order["refunds"][0]["transactions"] = []  # nothing paid, nothing paid back
    output = await synced(run, {"order": order})
    sale, refund = output["entries"]
    assert ("1100", "115.02", "0.00") in lines(sale)
    assert ("1100", "0.00", "43.74") in lines(refund)
    assert (await balance(deps.engine, tenant, chart.ACCOUNTS_RECEIVABLE)) == {"USD": D("71.28")}
    assert output["summary"]["receivable"] == "71.28"


async def test_order_that_does_not_add_up_posts_nothing(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    order = shopify_order()
    order["total_tax"] = "9.52"  # total_price still says 115.02 and 115.02 was captured
    order["transactions"][0]["amount"] = "115.02"
    order["total_price"] = "115.02"
    order["refunds"] = []
    order["transactions"].append({"kind": "sale", "status": "failure", "amount": "1.00"})
    result = await run("ecommerce_sync", {"order": order})
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.error_type == "unbalanced"
    assert "USD debits 126.02 != credits 127.02 (difference -1.00)" in result.error.message
    assert (await trial_balance(deps.engine, tenant)).rows == ()


async def test_bad_orders_are_invalid_config(run: Run) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "missing order"),
        ({"order": {"id": 1, "currency": "usd dollars"}}, "currency"),
        ({"order": {"currency": "USD"}}, "no id"),
        ({"order": shopify_order(), "fee_rate": "2.9"}, "fraction"),
    ]
    for config, words in cases:
        result = await run("ecommerce_sync", config)
        assert result.status == "failed"
        assert result.error is not None
        assert (result.error.error_type, result.error.retryable) == ("invalid_config", False)
        assert words in result.error.message
