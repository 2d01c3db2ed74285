"""Invoice reconciliation: each matching rule, each discrepancy, and the invariants of any run."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowbus_executor.executors.analysis.matching import Invoice, Options, Payment, reconcile
from flowbus_executor.executors.analysis.reconciliation import reconcile_config, report
from flowbus_shared.step_worker import StepFailure

MARCH_1 = dt.date(2025, 3, 1)


def invoice(id_: str, amount: str, day: int = 1, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "amount": amount, "currency": "EUR", "date": f"2025-03-{day:02d}"} | extra


def payment(id_: str, amount: str, day: int = 10, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "amount": amount, "currency": "EUR", "date": f"2025-03-{day:02d}"} | extra


def run(invoices: list[dict[str, Any]], payments: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    return reconcile_config({"invoices": invoices, "payments": payments, **options})


def pairs(result: dict[str, Any]) -> dict[str, tuple[list[str], str]]:
    return {entry["invoice_id"]: (entry["payment_ids"], entry["rule"]) for entry in result["matched"]}


def test_a_reference_names_the_invoice_whatever_the_spacing_and_case() -> None:
    result = run(
        [invoice("a", "100", number="INV-1001"), invoice("b", "100", number="INV-1002")],
        [payment("p1", "100", reference="payment for inv 1002"), payment("p2", "100", reference="INV1001")],
    )
    assert pairs(result) == {"a": (["p2"], "reference"), "b": (["p1"], "reference")}
    assert result["discrepancies"] == []


def test_a_short_number_is_not_found_inside_a_longer_one() -> None:
    result = run(
        [invoice("one", "50", number="INV-1"), invoice("ten", "80", number="INV-10")],
        [payment("p", "80", reference="INV-10")],
    )
    assert pairs(result) == {"ten": (["p"], "reference")}


def test_one_reference_naming_two_invoices_settles_both_oldest_due_first() -> None:
    result = run(
        [invoice("a", "300", 2, number="A-300"), invoice("b", "200", 1, number="B-200")],
        [payment("p", "450", reference="A-300 and B-200")],
    )
    entries = {entry["invoice_id"]: entry for entry in result["matched"]}
    assert entries["b"]["paid_amount"] == "200.00"  # issued first, paid first
    assert entries["a"]["paid_amount"] == "250.00"
    assert result["discrepancies"] == [
        {"invoice_id": "a", "payment_ids": ["p"], "difference": "-50.00", "reason": "underpaid"}
    ]
    assert entries["a"]["invoice_ids"] == ["b", "a"]


def test_exact_amounts_go_oldest_invoice_first() -> None:
    result = run(
        [invoice("late", "100", 20), invoice("early", "100", 1)],
        [payment("p2", "100", 25), payment("p1", "100", 21)],
    )
    assert pairs(result) == {"early": (["p1"], "exact_amount"), "late": (["p2"], "exact_amount")}


def test_a_payer_whose_name_differs_is_not_matched_on_amount_alone() -> None:
    result = run(
        [invoice("a", "100", customer="Acme GmbH"), invoice("b", "100", 2, customer="Globex Ltd")],
        [payment("p", "100", payer="GLOBEX LIMITED")],
    )
    assert pairs(result) == {"b": (["p"], "exact_amount")}


def test_tolerance_absolute_and_percent() -> None:
    assert pairs(run([invoice("a", "100")], [payment("p", "99.99")]))["a"] == (["p"], "amount_tolerance")
    assert run([invoice("a", "100")], [payment("p", "99.50")])["matched"] == []
    loose = run([invoice("a", "100")], [payment("p", "99.50")], percent_tolerance="1")
    assert pairs(loose)["a"] == (["p"], "amount_tolerance")
    assert loose["matched"][0]["difference"] == "-0.50"


def test_the_window_runs_from_the_invoice_date_to_due_date_plus_n_days() -> None:
    due_later = [invoice("a", "100", 1, due_date="2025-03-31")]
    assert pairs(run(due_later, [payment("p", "100", 1)], date_window_days=0))
    assert pairs(run(due_later, [payment("p", "100", 31)], date_window_days=0))
    late = run([invoice("a", "100", 1)], [payment("p", "100", 31)], date_window_days=10)
    assert pairs(late) == {"a": (["p"], "outside_window")}
    assert late["discrepancies"][0]["reason"] == "outside_window"
    before = run([invoice("a", "100", 10)], [payment("p", "100", 9)])
    assert before["discrepancies"][0]["reason"] == "outside_window"


def test_several_payments_of_one_payer_sum_to_an_invoice() -> None:
    result = run(
        [invoice("a", "560.50", customer="Umbrella")],
        [payment("p1", "300", payer="UMBRELLA"), payment("p2", "260.50", 12, payer="Umbrella Corp")],
    )
    assert pairs(result) == {"a": (["p1", "p2"], "partial_payments")}
    assert pairs(run([invoice("a", "560.50")], [payment("p1", "300"), payment("p2", "260.50")]))
    mixed = run(
        [invoice("a", "560.50")], [payment("p1", "300", payer="X"), payment("p2", "260.50", payer="Y")]
    )
    assert mixed["matched"] == []


def test_one_payment_settles_several_invoices_of_one_named_customer() -> None:
    result = run(
        [
            invoice("a", "720", 2, customer="Wayne Enterprises"),
            invoice("b", "480", 3, customer="WAYNE ENTERPRISES, INC."),
        ],
        [payment("p", "1200")],
    )
    assert pairs(result) == {"a": (["p"], "combined_payment"), "b": (["p"], "combined_payment")}
    unnamed = run([invoice("a", "720"), invoice("b", "480")], [payment("p", "1200")])
    assert unnamed["matched"] == []


def test_partial_matching_can_be_turned_off() -> None:
    result = run([invoice("a", "500")], [payment("p1", "200"), payment("p2", "300")], match_partial="false")
    assert result["matched"] == []
    assert result["summary"]["unmatched_payments"] == 2


def test_a_payment_in_another_currency_is_a_currency_mismatch_not_a_conversion() -> None:
    result = run(
        [invoice("a", "100", number="INV-777")], [payment("p", "110", currency="USD", reference="INV-777")]
    )
    entry = result["matched"][0]
    assert (entry["difference"], entry["paid_amount"], entry["paid_currency"]) == (None, "110.00", "USD")
    assert result["discrepancies"][0]["reason"] == "currency_mismatch"
    assert result["summary"]["currency"] is None
    assert result["summary"]["total_invoiced"] is None
    assert result["summary"]["by_currency"]["USD"]["paid"] == "110.00"
    assert run([invoice("a", "100")], [payment("p", "100", currency="USD")])["matched"] == []


def test_overpaid_and_underpaid_references() -> None:
    result = run(
        [invoice("a", "100", number="INV-901"), invoice("b", "100", number="INV-902")],
        [payment("p", "150", reference="INV-901"), payment("q", "60", reference="INV-902")],
    )
    reasons = {
        problem["invoice_id"]: (problem["reason"], problem["difference"])
        for problem in result["discrepancies"]
    }
    assert reasons == {"a": ("overpaid", "50.00"), "b": ("underpaid", "-40.00")}
    assert {entry["status"] for entry in result["matched"]} == {"discrepancy"}


def test_empty_lists_reconcile_to_nothing() -> None:
    result = run([], [])
    assert result["summary"]["total_invoiced"] == "0.00"
    assert result["matched"] == result["unmatched_invoices"] == []


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"payments": []}, "invoices"),
        ({"invoices": {}, "payments": []}, "invoices"),
        ({"invoices": [invoice("a", "ten")], "payments": []}, "invoices[0].amount"),
        ({"invoices": [invoice("a", "1"), invoice("a", "2")], "payments": []}, "invoices[1].id"),
        ({"invoices": [invoice("a", "1", currency="euros")], "payments": []}, "invoices[0].currency"),
        ({"invoices": [], "payments": [payment("p", "1", date="yesterday")]}, "payments[0].date"),
        ({"invoices": [], "payments": [], "amount_tolerance": "-1"}, "amount_tolerance"),
        ({"invoices": [], "payments": [], "date_window_days": "a month"}, "date_window_days"),
    ],
)
def test_bad_config_is_refused_naming_the_field(config: dict[str, Any], field: str) -> None:
    with pytest.raises(StepFailure) as failure:
        reconcile_config(config)
    assert failure.value.error_type == "invalid_config"
    assert failure.value.message.startswith(f"{field}:")


# Any feed: amounts from a small set so that exact, tolerance and partial matches all happen.
amounts = st.sampled_from(["100", "99.99", "50", "49.50", "150", "200", "250.25", "0.01", "75"])
parties = st.sampled_from([None, "Acme", "Globex", "ACME GmbH"])
invoices_strategy = st.lists(
    st.tuples(amounts, st.integers(0, 40), parties, st.sampled_from(["EUR", "EUR", "USD"]), st.booleans()),
    max_size=10,
)
payments_strategy = st.lists(
    st.tuples(
        amounts, st.integers(0, 60), parties, st.sampled_from(["EUR", "EUR", "USD"]), st.integers(-1, 9)
    ),
    max_size=12,
)


def build(
    raw_invoices: list[tuple[str, int, str | None, str, bool]],
    raw_payments: list[tuple[str, int, str | None, str, int]],
) -> tuple[list[Invoice], list[Payment]]:
    invoices = [
        Invoice(
            f"i{n}",
            Decimal(a),
            c,
            MARCH_1 + dt.timedelta(days=d),
            f"INV-{n:04d}" if numbered else None,
            party,
        )
        for n, (a, d, party, c, numbered) in enumerate(raw_invoices)
    ]
    payments = [
        Payment(
            f"p{n}",
            Decimal(a),
            c,
            MARCH_1 + dt.timedelta(days=d),
            f"INV-{ref:04d}" if ref >= 0 else None,
            payer,
        )
        for n, (a, d, payer, c, ref) in enumerate(raw_payments)
    ]
    return invoices, payments


@settings(max_examples=150, deadline=None)
@given(invoices_strategy, payments_strategy, st.booleans())
def test_every_invoice_and_payment_is_accounted_for_exactly_once(
    raw_invoices: list[tuple[str, int, str | None, str, bool]],
    raw_payments: list[tuple[str, int, str | None, str, int]],
    partial: bool,
) -> None:
    invoices, payments = build(raw_invoices, raw_payments)
    options = Options(match_partial=partial, date_window_days=10)
    matches = reconcile(invoices, payments, options)
    used_payments = [p for match in matches for p in match.payments]
    used_invoices = [i for match in matches for i in match.invoices]
    assert len(used_payments) == len(set(used_payments))
    assert len(used_invoices) == len(set(used_invoices))
    assert all(match.invoices and match.payments for match in matches)
    result = report(invoices, payments, matches, options)
    matched_ids = [entry["invoice_id"] for entry in result["matched"]]
    unmatched_ids = [item["id"] for item in result["unmatched_invoices"]]
    assert sorted(matched_ids + unmatched_ids) == sorted(invoice.id for invoice in invoices)
    paying = {p for entry in result["matched"] for p in entry["payment_ids"]}
    assert sorted(paying | {item["id"] for item in result["unmatched_payments"]}) == sorted(
        p.id for p in payments
    )
    assert not paying & {item["id"] for item in result["unmatched_payments"]}
    for match in matches:
        if match.rule != "reference":  # amounts decide every other rule, within tolerance, one currency
            paid = sum((payments[p].amount for p in match.payments), Decimal(0))
            invoiced = sum((invoices[i].amount for i in match.invoices), Decimal(0))
            assert abs(paid - invoiced) <= options.tolerance(invoiced)
            assert (
                len(
                    {invoices[i].currency for i in match.invoices}
                    | {payments[p].currency for p in match.payments}
                )
                == 1
            )


@settings(max_examples=100, deadline=None)
@given(invoices_strategy, payments_strategy)
def test_allocations_add_up_to_what_was_paid(
    raw_invoices: list[tuple[str, int, str | None, str, bool]],
    raw_payments: list[tuple[str, int, str | None, str, int]],
) -> None:
    invoices, payments = build(raw_invoices, raw_payments)
    options = Options()
    matches = reconcile(invoices, payments, options)
    result = report(invoices, payments, matches, options)
    by_payments: dict[tuple[str, ...], Decimal] = {}
    for entry in result["matched"]:
        assert entry["difference"] is None or Decimal(entry["paid_amount"]) - Decimal(
            entry["invoice_amount"]
        ) == Decimal(entry["difference"])
        if entry["difference"] is not None:
            group = tuple(entry["payment_ids"])
            by_payments[group] = by_payments.get(group, Decimal(0)) + Decimal(entry["paid_amount"])
    amount = {payment.id: payment.amount for payment in payments}
    for group, applied in by_payments.items():
        assert applied == sum((amount[p] for p in group), Decimal(0))
