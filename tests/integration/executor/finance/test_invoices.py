"""invoice_processing: several layouts read to the same numbers, from text and from a PDF;
the arithmetic checked; the bill booked once (expense + input VAT = payable)."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.finance import balance, chart, trial_balance
from tests.integration.executor.finance.conftest import Run
from tests.integration.executor.finance.fixtures import (
    BAD_INVOICE,
    EU_INVOICE,
    SIMPLE_INVOICE,
    SLASH_INVOICE,
    UK_INVOICE,
    US_INVOICE,
)
from tests.integration.executor.finance.pdf import text_pdf

D = Decimal


async def processed(run: Run, config: dict[str, Any], **options: Any) -> dict[str, Any]:
    result = await run("invoice_processing", config, **options)
    assert result.status == "succeeded", result.error
    assert result.output is not None
    return result.output


def bill_lines(output: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {line["account"]: (line["debit"], line["credit"]) for line in output["bill"]["lines"]}


async def test_us_layout(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    output = await processed(run, {"text": US_INVOICE})
    assert output["vendor"] == "ACME Office Supplies Inc."
    assert output["invoice_number"] == "10045"
    assert (output["invoice_date"], output["due_date"]) == ("2026-11-03", "2026-12-03")
    assert output["currency"] == "USD"
    assert output["lines"] == [
        {
            "description": "Printer paper A4, 500 sheets",
            "quantity": "10",
            "unit_price": "4.50",
            "amount": "45.00",
        },
        {"description": "Toner cartridge HP 305", "quantity": "2", "unit_price": "89.99", "amount": "179.98"},
        {"description": "Desk organiser", "quantity": "3", "unit_price": "12.00", "amount": "36.00"},
    ]
    assert (output["subtotal"], output["tax"], output["total"]) == (
        "260.98",
        {"rate": "8.25", "amount": "21.53"},
        "282.51",
    )
    assert output["adds_up"] is True
    assert all(check["ok"] for check in output["checks"])
    assert [check["name"] for check in output["checks"]][-3:] == [
        "lines_sum_to_subtotal",
        "subtotal_plus_tax_is_total",
        "tax_rate",
    ]
    assert bill_lines(output) == {
        "6000": ("260.98", "0.00"),
        "1300": ("21.53", "0.00"),
        "2000": ("0.00", "282.51"),
    }
    assert output["bill"]["posted_now"] is True
    assert output["bill"]["date"] == "2026-11-03"
    assert await balance(deps.engine, tenant, chart.ACCOUNTS_PAYABLE) == {"USD": D("282.51")}
    assert await balance(deps.engine, tenant, chart.VAT_RECEIVABLE) == {"USD": D("21.53")}
    assert await balance(deps.engine, tenant, chart.OPERATING_EXPENSES) == {"USD": D("260.98")}


async def test_german_layout_with_decimal_commas(run: Run) -> None:
    output = await processed(run, {"text": EU_INVOICE, "expense_account": "6600"})
    assert output["vendor"] == "Müller Bürobedarf GmbH"
    assert output["invoice_number"] == "INV-2026-001"
    assert output["invoice_date"] == "2026-11-03"
    assert output["due_date"] == "2026-11-17"  # net 14 days
    assert output["currency"] == "EUR"
    assert [(line["description"], line["amount"]) for line in output["lines"]] == [
        ("Ergonomic chair", "2469.00"),
        ("Monitor arm", "359.60"),
    ]
    assert output["lines"][0]["unit_price"] == "1234.50"
    assert (output["subtotal"], output["tax"]["amount"], output["tax"]["rate"], output["total"]) == (
        "2828.60",
        "537.43",
        "19",
        "3366.03",
    )
    assert bill_lines(output) == {
        "6600": ("2828.60", "0.00"),
        "1300": ("537.43", "0.00"),
        "2000": ("0.00", "3366.03"),
    }


async def test_uk_layout_qty_first_and_written_dates(run: Run) -> None:
    output = await processed(run, {"text": UK_INVOICE})
    assert output["vendor"] == "Brightside Consulting Ltd"
    assert output["invoice_number"] == "BC/2026/117"
    assert (output["invoice_date"], output["due_date"]) == ("2026-11-03", "2026-12-03")
    assert output["currency"] == "GBP"
    assert [(line["description"], line["quantity"], line["amount"]) for line in output["lines"]] == [
        ("Advisory hours", "10", "1200.00"),
        ("Strategy workshop (2 days)", "2", "3000.00"),
        ("Travel expenses", "2", "150.00"),
    ]
    assert (output["subtotal"], output["tax"]["amount"], output["total"]) == ("4350.00", "870.00", "5220.00")


async def test_simple_layout_without_table_or_total(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    output = await processed(run, {"text": SIMPLE_INVOICE, "expense_account": chart.PROFESSIONAL_FEES})
    assert (output["vendor"], output["invoice_number"]) == ("Jane Smith Design", "INV-2026-042")
    assert (output["invoice_date"], output["due_date"], output["currency"]) == (
        "2026-11-03",
        "2026-11-17",
        "EUR",
    )
    assert [(line["description"], line["amount"]) for line in output["lines"]] == [
        ("Logo design, 2 concepts", "800.00"),
        ("Brand guidelines", "450.00"),
    ]
    assert (output["subtotal"], output["tax"]["amount"], output["total"]) == ("1250.00", "0.00", "1250.00")
    assert output["adds_up"] is True
    assert await balance(deps.engine, tenant, chart.PROFESSIONAL_FEES) == {"EUR": D("1250.00")}


@pytest.mark.parametrize(
    ("date_order", "issued", "due"),
    [("DMY", "2026-11-03", "2026-12-03"), ("MDY", "2026-03-11", "2026-03-12")],
)
async def test_slashed_dates_follow_date_order(run: Run, date_order: str, issued: str, due: str) -> None:
    output = await processed(run, {"text": SLASH_INVOICE, "date_order": date_order})
    assert (output["invoice_date"], output["due_date"]) == (issued, due)
    assert output["total"] == "253.25"
    assert output["tax"]["amount"] == "0.00"
    # No tax: the bill has two lines (a zero line is not posted).
    assert bill_lines(output) == {"6000": ("253.25", "0.00"), "2000": ("0.00", "253.25")}
    assert not output["notes"]


async def test_ambiguous_dates_are_noted(run: Run) -> None:
    output = await processed(run, {"text": SLASH_INVOICE})
    assert output["invoice_date"] == "2026-03-11"  # a USD invoice is read month first
    assert any("date_order" in note for note in output["notes"])


async def test_pdf_reads_like_the_text(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    pdf = text_pdf(EU_INVOICE.splitlines())
    output = await processed(run, {"pdf_base64": base64.b64encode(pdf).decode()})
    assert output["invoice_number"] == "INV-2026-001"
    assert output["vendor"] == "Müller Bürobedarf GmbH"
    assert (output["subtotal"], output["tax"]["amount"], output["total"]) == ("2828.60", "537.43", "3366.03")
    assert len(output["lines"]) == 2
    assert await balance(deps.engine, tenant, chart.ACCOUNTS_PAYABLE) == {"EUR": D("3366.03")}


async def test_redelivery_books_once(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    first = await processed(run, {"text": US_INVOICE})
    again = await processed(run, {"text": US_INVOICE}, step_id="other-step", attempt=2)
    assert again["bill"]["entry_id"] == first["bill"]["entry_id"]
    assert again["bill"]["posted_now"] is False
    assert await balance(deps.engine, tenant, chart.ACCOUNTS_PAYABLE) == {"USD": D("282.51")}
    trial = await trial_balance(deps.engine, tenant)
    assert trial.balanced
    assert trial.totals["USD"] == (D("282.51"), D("282.51"))


async def test_same_number_other_amounts_is_a_duplicate(run: Run) -> None:
    await processed(run, {"text": US_INVOICE})
    changed = US_INVOICE.replace("Desk organiser                     3         12.00       36.00", "")
    changed = changed.replace("260.98", "224.98").replace("21.53", "18.56").replace("282.51", "243.54")
    result = await run("invoice_processing", {"text": changed})
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.error_type == "duplicate_invoice"
    assert not result.error.retryable


async def test_invoice_that_does_not_add_up(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    result = await run("invoice_processing", {"text": BAD_INVOICE})
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.error_type == "invoice_does_not_add_up"
    assert not result.error.retryable
    message = result.error.message
    assert "line_amount (line 2): expected 40.00, found 30.00 (difference -10.00)" in message
    assert "lines_sum_to_subtotal: expected 90.00, found 80.00 (difference -10.00)" in message
    assert "subtotal_plus_tax_is_total: expected 100.00, found 99.00 (difference -1.00)" in message
    assert (await trial_balance(deps.engine, tenant)).rows == ()

    allowed = await processed(run, {"text": BAD_INVOICE, "allow_mismatch": True})
    assert allowed["adds_up"] is False
    failed = [check["name"] for check in allowed["checks"] if not check["ok"]]
    assert failed == ["line_amount", "lines_sum_to_subtotal", "subtotal_plus_tax_is_total"]
    # The vendor is owed what it asks for; the expense is that less the tax.
    assert bill_lines(allowed) == {
        "6000": ("91.00", "0.00"),
        "1300": ("9.00", "0.00"),
        "2000": ("0.00", "100.00"),
    }


@pytest.mark.parametrize(
    ("config", "error_type", "words"),
    [
        ({}, "invalid_config", "missing text or pdf_base64"),
        ({"pdf_base64": "not base64!"}, "invalid_config", "not valid base64"),
        ({"pdf_base64": base64.b64encode(b"%PDF-1.4 garbage").decode()}, "invalid_config", "readable PDF"),
        ({"text": "Dear customer, thank you."}, "unparseable_invoice", "invoice number"),
        ({"text": US_INVOICE, "date_order": "YMD"}, "invalid_config", "date_order"),
        ({"text": US_INVOICE, "expense_account": "6999"}, "invalid_config", "6999"),
        ({"text": US_INVOICE, "currency": "DOLLARS"}, "invalid_config", "ISO 4217"),
    ],
)
async def test_refusals(run: Run, config: dict[str, Any], error_type: str, words: str) -> None:
    result = await run("invoice_processing", config)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.error_type == error_type
    assert words in result.error.message
    assert not result.error.retryable
