"""b2b_po_detection: purchase orders found in emails of several shapes become one draft order
per PO number; an email without one says so and succeeds."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.finance.tables import draft_orders
from tests.integration.executor.finance.conftest import Run
from tests.integration.executor.finance.fixtures import (
    NO_PO_EMAIL,
    PO_EMAIL,
    PO_HTML_EMAIL,
    PO_TABLE_EMAIL,
    PO_WITHOUT_LINES_EMAIL,
)


async def detected(run: Run, config: dict[str, Any], **options: Any) -> dict[str, Any]:
    result = await run("b2b_po_detection", config, **options)
    assert result.status == "succeeded", result.error
    assert result.output is not None
    return result.output


def items(output: dict[str, Any]) -> list[tuple[str, str | None, str, str, str]]:
    return [
        (line["description"], line["sku"], line["quantity"], line["unit_price"], line["amount"])
        for line in output["lines"]
    ]


async def test_po_with_mixed_line_styles(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    output = await detected(run, PO_EMAIL)
    assert output["found"] is True
    assert output["po_number"] == "PO-12345"
    assert output["customer"] == {
        "name": "Acme Industries Inc.",
        "contact": "Jane Doe",
        "email": "jane.doe@acme-industries.com",
        "source": "signature",
    }
    assert output["currency"] == "USD"
    assert items(output) == [
        ("Widget A", None, "2", "12.50", "25.00"),
        ("Widget B", None, "10", "3.20", "32.00"),
        ("Blue gasket", "SKU-123", "5", "4.00", "20.00"),
    ]
    assert (output["total"], output["stated_total"], output["checks"]) == (
        "77.00",
        "77.00",
        {"total_matches": True},
    )
    draft = output["draft_order"]
    assert (draft["status"], draft["created"]) == ("draft", True)

    again = await detected(run, PO_EMAIL, attempt=2)
    assert again["draft_order"] == {"order_id": draft["order_id"], "status": "draft", "created": False}
    async with deps.engine.connect() as conn:
        stored = (await conn.execute(sa.select(draft_orders).where(draft_orders.c.tenant_id == tenant))).all()
    assert len(stored) == 1
    assert (stored[0].po_number, stored[0].total_minor, stored[0].currency) == ("PO-12345", 7700, "USD")
    assert stored[0].lines[2]["sku"] == "SKU-123"


async def test_po_table_and_sender_domain(run: Run) -> None:
    output = await detected(run, PO_TABLE_EMAIL)
    assert output["po_number"] == "4500012345"
    assert output["customer"]["name"] == "Northwind Traders"
    assert output["customer"]["source"] == "domain"
    assert items(output) == [
        ("Steel bolts M8", None, "100", "0.35", "35.00"),
        ("Hex nuts M8", None, "100", "0.12", "12.00"),
    ]
    assert output["total"] == "47.00"
    assert output["checks"] == {"total_matches": None}  # the email states no total


async def test_html_po_with_decimal_commas(run: Run) -> None:
    output = await detected(run, PO_HTML_EMAIL)
    assert output["po_number"] == "778899"
    assert output["currency"] == "EUR"
    assert output["customer"]["name"] == "Mueller Gmbh"
    assert items(output) == [
        ("Gadget X", None, "3", "19.90", "59.70"),
        ("Gadget Y", None, "2", "1250.00", "2500.00"),
    ]
    assert output["total"] == "2559.70"


async def test_no_purchase_order(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    output = await detected(run, NO_PO_EMAIL)
    assert output == {"found": False, "reason": "no purchase order number or order lines found"}
    partial = await detected(run, PO_WITHOUT_LINES_EMAIL)
    assert partial["found"] is False
    assert partial["reason"] == "purchase order 99812 has no order lines"
    async with deps.engine.connect() as conn:
        count = await conn.scalar(
            sa.select(sa.func.count()).select_from(draft_orders).where(draft_orders.c.tenant_id == tenant)
        )
    assert count == 0


async def test_empty_email_is_invalid_config(run: Run) -> None:
    result = await run("b2b_po_detection", {"from": "a@b.com"})
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.error_type == "invalid_config"
