"""The finance analysis steps run as the executor runs them (`run_step`), on realistic books:
a month of invoices against a bank feed, a SaaS stack, and a deal pipeline's stage budgets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowbus_executor.executors import analysis
from flowbus_shared.schemas import StepResult
from flowbus_shared.step_worker import run_step
from tests.support.executor_deps import executor_deps, step_request


async def run(tmp_path: Path, step_type: str, config: dict[str, Any]) -> StepResult:
    async with executor_deps(tmp_path / "x.db") as deps:
        return await run_step(
            analysis.handlers(deps), step_request(step_type, config), executed_by="executor"
        )


def invoice(number: str, customer: str, amount: str, issued: str, due: str) -> dict[str, Any]:
    return {
        "id": number,
        "number": number,
        "customer": customer,
        "amount": amount,
        "currency": "EUR",
        "date": issued,
        "due_date": due,
    }


def bank(id_: str, amount: Any, booked: str, reference: str | None, payer: str) -> dict[str, Any]:
    return {
        "id": id_,
        "amount": amount,
        "currency": "EUR",
        "date": booked,
        "reference": reference,
        "payer": payer,
    }


MARCH_BOOKS = {
    "invoices": [
        invoice("INV-2025-0301", "Acme GmbH", "1,200.00", "2025-03-01", "2025-03-31"),
        invoice("INV-2025-0302", "Globex Ltd", "850.00", "2025-03-02", "2025-04-01"),
        invoice("INV-2025-0303", "Initech", "2400", "2025-03-03", "2025-04-02"),
        invoice("INV-2025-0304", "Umbrella Corp", "560.50", "2025-03-05", "2025-04-04"),
        invoice("INV-2025-0305", "Hooli", "1000.00", "2025-03-07", "2025-04-06"),
        invoice("INV-2025-0306", "Stark Industries", "3150.00", "2025-03-10", "2025-04-09"),
        invoice("INV-2025-0307", "Wayne Enterprises", "720.00", "2025-03-12", "2025-04-11"),
        invoice("INV-2025-0308", "Wayne Enterprises", "480.00", "2025-03-14", "2025-04-13"),
        invoice("INV-2025-0309", "Soylent", "990.00", "2025-03-15", "2025-04-14"),
        invoice("INV-2025-0310", "Initrode", "415.00", "2025-03-18", "2025-04-17"),
        invoice("INV-2025-0311", "Vandelay Industries", "1875.00", "2025-03-20", "2025-04-19"),
        invoice("INV-2025-0312", "Globex Ltd", "300.00", "2025-02-01", "2025-02-15"),  # February's, paid late
    ],
    "payments": [
        bank("BNK-01", "1200.00", "2025-03-04", "Payment INV 2025 0301", "ACME GMBH"),
        bank("BNK-02", 850, "2025-03-20", "Globex inv-2025-0302", "GLOBEX LTD"),
        bank("BNK-03", "1200.00", "2025-03-08", "INV-2025-0303 part 1/2", "INITECH"),  # two instalments
        bank("BNK-04", "1200.00", "2025-03-22", "INV2025-0303 part 2", "INITECH"),
        bank("BNK-05", "300.00", "2025-03-12", None, "UMBRELLA CORPORATION"),  # two unreferenced parts
        bank("BNK-06", "260.50", "2025-03-19", None, "UMBRELLA CORPORATION"),
        bank("BNK-07", "950.00", "2025-03-21", "INV-2025-0305", "HOOLI INC"),  # 50 short
        bank("BNK-08", "3500.00", "2025-03-24", "Invoice INV-2025-0306", "STARK INDUSTRIES"),  # overpaid
        bank("BNK-09", "1200.00", "2025-03-26", None, "WAYNE ENTERPRISES INC"),  # pays 0307 + 0308
        bank("BNK-10", 990.0, "2025-03-27", "INV-2025-0390", "SOYLENT"),  # wrong reference
        bank("BNK-11", "414.99", "2025-03-28", "Initrode remittance", "INITRODE"),  # a cent short
        bank("BNK-12", "300.00", "2025-03-28", "INV-2025-0312", "GLOBEX LTD"),
        bank("BNK-13", "125.00", "2025-03-30", "refund?", "UNKNOWN LTD"),
        bank("BNK-14", "49.00", "2025-03-31", "card settlement", "PAYPAL"),
    ],
}


async def test_a_month_of_invoices_against_the_bank_feed(tmp_path: Path) -> None:
    result = await run(tmp_path, "invoice_reconciliation", MARCH_BOOKS)
    assert result.status == "succeeded", result.error
    output = result.output
    assert output is not None
    rules = {entry["invoice_id"]: (entry["payment_ids"], entry["rule"]) for entry in output["matched"]}
    assert rules == {
        "INV-2025-0301": (["BNK-01"], "reference"),
        "INV-2025-0302": (["BNK-02"], "reference"),
        "INV-2025-0303": (["BNK-03", "BNK-04"], "reference"),
        "INV-2025-0304": (["BNK-05", "BNK-06"], "partial_payments"),
        "INV-2025-0305": (["BNK-07"], "reference"),
        "INV-2025-0306": (["BNK-08"], "reference"),
        "INV-2025-0307": (["BNK-09"], "combined_payment"),
        "INV-2025-0308": (["BNK-09"], "combined_payment"),
        "INV-2025-0309": (["BNK-10"], "exact_amount"),
        "INV-2025-0310": (["BNK-11"], "amount_tolerance"),
        "INV-2025-0312": (["BNK-12"], "reference"),
    }
    by_invoice = {entry["invoice_id"]: entry for entry in output["matched"]}
    assert by_invoice["INV-2025-0310"]["difference"] == "-0.01"
    assert by_invoice["INV-2025-0307"]["invoice_ids"] == ["INV-2025-0307", "INV-2025-0308"]
    assert [(d["invoice_id"], d["reason"], d["difference"]) for d in output["discrepancies"]] == [
        ("INV-2025-0305", "underpaid", "-50.00"),
        ("INV-2025-0306", "overpaid", "350.00"),
        ("INV-2025-0312", "outside_window", "0.00"),
    ]
    assert [item["id"] for item in output["unmatched_invoices"]] == ["INV-2025-0311"]
    assert [item["id"] for item in output["unmatched_payments"]] == ["BNK-13", "BNK-14"]
    summary = output["summary"]
    assert (summary["invoices"], summary["payments"], summary["matched"], summary["discrepancies"]) == (
        12,
        14,
        11,
        3,
    )
    assert (summary["total_invoiced"], summary["total_paid"]) == ("13940.50", "12539.49")
    assert (summary["total_unmatched"], summary["total_unapplied"], summary["currency"]) == (
        "1875.00",
        "174.00",
        "EUR",
    )


SAAS_STACK = {
    "subscriptions": [
        {
            "tool": "Slack",
            "vendor": "Slack Technologies",
            "category": "Communication",
            "seats": 120,
            "seats_used": 112,
            "price_per_seat": "8.75",
            "billing": "monthly",
            "currency": "USD",
            "owner": "IT",
        },
        {
            "tool": "Microsoft Teams",
            "vendor": "Microsoft",
            "category": "communication",
            "seats": 40,
            "seats_used": 25,
            "price_per_seat": 4,
            "billing": "monthly",
            "currency": "USD",
            "owner": "Sales Ops",
        },
        {
            "tool": "Zoom",
            "vendor": "Zoom Video Communications",
            "category": "video",
            "seats": 50,
            "seats_used": 18,
            "price_per_seat": "149.90",
            "billing": "annual",
            "currency": "USD",
            "owner": "IT",
        },
        {
            "tool": "Figma",
            "vendor": "Figma Inc",
            "category": "design",
            "seats": 12,
            "seats_used": 12,
            "price_per_seat": "20.00",
            "billing": "monthly",
            "currency": "USD",
            "owner": "Design",
            "history": [
                {"date": "2024-03-01", "price_per_seat": "15.00"},
                {"date": "2025-03-01", "price_per_seat": 20},
            ],
        },
        {
            "tool": "Notion",
            "category": "docs",
            "seats": 60,
            "seats_used": 58,
            "price_per_seat": 10,
            "billing": "monthly",
            "currency": "USD",
        },
    ],
    "expenses": [
        # A team paying for Slack on a card besides the company plan.
        {
            "vendor": "SLACK TECHNOLOGIES",
            "amount": "87.50",
            "date": "2025-01-15",
            "category": "communication",
        },
        {
            "vendor": "SLACK TECHNOLOGIES",
            "amount": "87.50",
            "date": "2025-02-15",
            "category": "communication",
        },
        {
            "vendor": "SLACK TECHNOLOGIES",
            "amount": "87.50",
            "date": "2025-03-15",
            "category": "communication",
        },
        {"vendor": "Datadog", "amount": "400.00", "date": "2025-01-03", "category": "monitoring"},
        {"vendor": "Datadog", "amount": "400.00", "date": "2025-02-03", "category": "monitoring"},
        {"vendor": "Datadog", "amount": "460.00", "date": "2025-03-03", "category": "monitoring"},
        {"vendor": "Delta Air Lines", "amount": "612.40", "date": "2025-02-20", "category": "travel"},
    ],
}


async def test_a_saas_stack_leaking_money(tmp_path: Path) -> None:
    result = await run(tmp_path, "cost_leak_detection", SAAS_STACK)
    assert result.status == "succeeded", result.error
    output = result.output
    assert output is not None
    found = {
        (finding["kind"], finding.get("tool") or finding.get("vendor")): (
            finding["potential_savings_monthly"],
            finding["potential_savings_annual"],
        )
        for finding in output["findings"]
    }
    assert found == {
        ("unused_seats", "Zoom"): ("399.73", "4796.80"),  # 32 annual seats at 149.90
        ("duplicate_tool", "Slack, Microsoft Teams"): ("160.00", "1920.00"),
        ("duplicate_billing", "Slack"): ("87.50", "1050.00"),
        ("unused_seats", "Slack"): ("70.00", "840.00"),
        ("unused_seats", "Microsoft Teams"): ("60.00", "720.00"),
        ("price_rise", "Figma"): ("60.00", "720.00"),
        ("price_rise", "Datadog"): ("60.00", "720.00"),
        ("unused_seats", "Notion"): ("20.00", "240.00"),
    }
    assert output["findings"][0]["tool"] == "Zoom"  # the largest leak first
    # Teams is counted once at its 160.00 a month, not again for its unused seats.
    assert (output["total_potential_savings_monthly"], output["total_potential_savings_annual"]) == (
        "857.23",
        "10286.80",
    )
    assert output["by_currency"]["USD"]["subscriptions_monthly"] == "2674.58"


PIPELINE_BUDGETS = {
    "group_by": "deal_stage",
    "as_of": "2025-03-31",
    "budgets": [
        {"stage": "Prospecting", "limit": "5000", "currency": "USD", "period": "2025-Q1"},
        {"stage": "Qualification", "limit": 8000, "currency": "USD", "period": "2025-Q1"},
        {"stage": "Proposal", "limit": "12,000.00", "currency": "USD", "period": "2025-Q1"},
        {"stage": "Negotiation", "limit": "6000", "currency": "USD", "period": "quarterly"},
    ],
    "spend": [
        {"stage": "Prospecting", "amount": "1800.00", "currency": "USD", "date": "2025-01-14"},
        {"stage": "Prospecting", "amount": "1300.00", "currency": "USD", "date": "2025-02-20"},
        {
            "stage": "Prospecting",
            "amount": "2500.00",
            "currency": "USD",
            "date": "2024-12-10",
        },  # last quarter
        {"stage": "Qualification", "amount": "4200.00", "currency": "USD", "date": "2025-01-30"},
        {"stage": "Qualification", "amount": "2750.00", "currency": "USD", "date": "2025-03-05"},
        {"stage": "proposal", "amount": "9980.25", "currency": "USD", "date": "2025-02-11"},
        {"stage": "Proposal", "amount": "2500", "currency": "USD", "date": "2025-03-18"},
        {"stage": "Negotiation", "amount": "4200.00", "currency": "USD", "date": "2025-03-25"},
        {"stage": "Closed Won", "amount": "900.00", "currency": "USD", "date": "2025-03-28"},
    ],
    "stage": "Negotiation",
    "amount": "1500.00",
    "currency": "USD",
}


async def test_a_deal_pipeline_budgeted_by_stage(tmp_path: Path) -> None:
    result = await run(tmp_path, "budget_check", PIPELINE_BUDGETS)
    assert result.status == "succeeded", result.error
    output = result.output
    assert output is not None
    table = {
        row["category"]: (row["limit"], row["spent"], row["remaining"], row["percent_used"], row["status"])
        for row in output["categories"]
    }
    assert table == {
        "Prospecting": ("5000.00", "3100.00", "1900.00", 62.0, "ok"),
        "Qualification": ("8000.00", "6950.00", "1050.00", 86.88, "warning"),
        "Proposal": ("12000.00", "12480.25", "-480.25", 104.0, "over"),
        "Negotiation": ("6000.00", "4200.00", "1800.00", 70.0, "ok"),
        "Closed Won": (None, "900.00", None, None, "no_budget"),
    }
    assert (output["allowed"], output["requested"], output["remaining_after"]) == (True, "1500.00", "300.00")
    assert (output["over_budget"], output["warnings"], output["no_budget"]) == (
        ["Proposal"],
        ["Qualification"],
        ["Closed Won"],
    )
    assert (output["total_limit"], output["total_spent"], output["unbudgeted_spent"]) == (
        "31000.00",
        "27630.25",
        "900.00",
    )
    too_much = await run(tmp_path, "budget_check", PIPELINE_BUDGETS | {"amount": "1800.01"})
    assert too_much.output is not None
    assert (too_much.output["allowed"], too_much.output["remaining_after"]) == (False, "-0.01")


async def test_bad_input_fails_permanently_naming_the_field(tmp_path: Path) -> None:
    books = {
        "invoices": MARCH_BOOKS["invoices"],
        "payments": [*MARCH_BOOKS["payments"], bank("X", "lots", "2025-03-31", None, "")],
    }
    failed = await run(tmp_path, "invoice_reconciliation", books)
    assert failed.status == "failed"
    assert failed.error is not None
    assert (failed.error.error_type, failed.error.retryable) == ("invalid_config", False)
    assert failed.error.message.startswith("payments[14].amount:")
    euros = {**PIPELINE_BUDGETS, "currency": "EUR"}
    mismatch = await run(tmp_path, "budget_check", euros)
    assert mismatch.error is not None
    assert mismatch.error.error_type == "invalid_config"
    assert "never converted" in mismatch.error.message
