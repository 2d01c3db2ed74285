"""Documents the finance tests read: invoices in several layouts, emails with and without a
purchase order, and a Shopify order with a discount code, tax, shipping and a partial refund."""

from __future__ import annotations

from typing import Any

# US layout: "Invoice #", ISO dates, a desc-first table, sales tax, a currency code on the total.
US_INVOICE = """\
ACME Office Supplies Inc.
123 Main Street, Springfield, IL 62701
INVOICE
Invoice #: 10045
Invoice Date: 2026-11-03        Due Date: 2026-12-03
Bill To: Flowbus Ltd

Description                      Qty    Unit Price      Amount
Printer paper A4, 500 sheets      10          4.50       45.00
Toner cartridge HP 305             2         89.99      179.98
Desk organiser                     3         12.00       36.00
Subtotal                                               260.98
Sales Tax (8.25%)                                       21.53
Total                                             USD  282.51
"""

# German layout: "Invoice No. INV-...", dotted dates, 1.234,56 amounts, euro signs, VAT, terms.
EU_INVOICE = """\
Müller Bürobedarf GmbH
Hauptstraße 5, 10115 Berlin
Rechnung / Invoice
Invoice No. INV-2026-001
Date: 03.11.2026
Payment terms: net 14 days
Pos  Beschreibung / Description      Menge     Preis        Betrag
1    Ergonomic chair                 2         1.234,50 €   2.469,00 €
2    Monitor arm                     4         89,90 €      359,60 €
Zwischensumme                                               2.828,60 €
MwSt. 19%                                                     537,43 €
Gesamtbetrag                                                3.366,03 €
"""

# UK layout: "Invoice Number", "Nov 3, 2026" and "3 December 2026", a qty-first table, £, VAT 20%.
UK_INVOICE = """\
INVOICE
Brightside Consulting Ltd
Invoice Number: BC/2026/117
Issued: Nov 3, 2026
Payment due: 3 December 2026
Qty  Description                   Rate        Amount
10   Advisory hours                £120.00     £1,200.00
2    Strategy workshop (2 days)    £1,500.00   £3,000.00
Travel expenses    2 x £75.00 = £150.00
Subtotal  £4,350.00
VAT 20%  £870.00
Total due  £5,220.00
"""

# Slashed dates (ambiguous without config: 03/11/2026), $ amounts, zero tax.
SLASH_INVOICE = """\
Northwind Traders
Invoice # NW-5531
Date 03/11/2026   Due 03/12/2026
Item                      Quantity   Price     Total
Coffee beans 1kg          12         $18.50    $222.00
Filters (box of 100)      5          $6.25     $31.25
Subtotal $253.25
Tax $0.00
Total $253.25
"""

# A freelancer's invoice: a bare "INV-" number, a "From:" label, written dates, no table
# header (a "1 x 800.00 = 800.00" row), no subtotal, and "Amount due" instead of a total.
SIMPLE_INVOICE = """\
INVOICE  INV-2026-042
From: Jane Smith Design
Date: 3 November 2026
Due: 17 November 2026
Logo design, 2 concepts      1 x 800.00 = 800.00
Brand guidelines             1 x 450.00 = 450.00
Amount due: 1,250.00 EUR
"""

# Lines that do not make the subtotal (a line is 10.00 short) and a total off by 1.00.
BAD_INVOICE = """\
Globex Corporation
Invoice No. 7781
Invoice Date: 2026-10-01
Description          Qty   Unit Price   Amount
Widgets              10    5.00         50.00
Gadgets              2     20.00        30.00
Subtotal                                90.00
Tax 10%                                  9.00
Total                                  100.00 USD
"""

PO_EMAIL = {
    "subject": "Purchase Order PO-12345",
    "from": "Jane Doe <jane.doe@acme-industries.com>",
    "body": """Hello,

Please process the following order:

2 x Widget A @ 12.50
Widget B  qty 10  unit price 3.20
SKU-123  Blue gasket  5  $4.00

Total: $77.00

Please deliver by Friday. Call me at 555 1234 if needed.

Best regards,
Jane Doe
Procurement Manager
Acme Industries Inc.
+1 555 123 4567
""",
}

PO_TABLE_EMAIL = {
    "subject": "Order for next week",
    "from": "bob@northwind-traders.co.uk",
    "body": """Hi team,
Our P.O. #4500012345 is below.

Item              Qty    Unit Price    Total
Steel bolts M8     100      0.35        35.00
Hex nuts M8        100      0.12        12.00

Thanks,
Bob
""",
}

PO_HTML_EMAIL = {
    "subject": "Re: quote 2026-88",
    "from": "Einkauf <einkauf@mueller-gmbh.de>",
    "body": (
        "<html><body><p>Purchase Order 778899</p><table>"
        "<tr><th>Product</th><th>Quantity</th><th>Price</th></tr>"
        "<tr><td>Gadget X</td><td>3</td><td>&euro;19,90</td></tr>"
        "<tr><td>Gadget Y</td><td>2</td><td>&euro;1.250,00</td></tr>"
        "</table><p>Mit freundlichen Gr&uuml;&szlig;en</p></body></html>"
    ),
}

NO_PO_EMAIL = {
    "subject": "Lunch on Friday?",
    "from": "sam@gmail.com",
    "body": "Hey, are we still on for lunch on Friday at 12:30? Our address is now PO Box 4411.\nCheers,\nSam",
}

PO_WITHOUT_LINES_EMAIL = {
    "subject": "PO# 99812",
    "from": "ap@initech.com",
    "body": "Hello, please find our purchase order attached as a PDF.\nRegards,\nInitech Accounts",
}


def shopify_order() -> dict[str, Any]:
    """Order #1001: 2 shirts at 45.00 and a tote at 20.00 (110.00 gross), AUTUMN10 takes 11.00,
    7.50 shipping, 8.52 tax, 115.02 captured; then one shirt refunded (40.50 + 3.24 tax)."""
    return {
        "id": 5550001001,
        "name": "#1001",
        "currency": "USD",
        "created_at": "2026-11-10T09:30:00-05:00",
        "processed_at": "2026-11-10T09:30:00-05:00",
        "taxes_included": False,
        "line_items": [
            {"id": 111, "title": "Linen shirt", "quantity": 2, "price": "45.00", "total_discount": "9.00"},
            {"id": 222, "title": "Canvas tote", "quantity": 1, "price": "20.00", "total_discount": "2.00"},
        ],
        "discount_codes": [{"code": "AUTUMN10", "amount": "11.00", "type": "percentage"}],
        "total_discounts": "11.00",
        "shipping_lines": [{"title": "Standard", "price": "7.50"}],
        "total_tax": "8.52",
        "total_price": "115.02",
        "transactions": [
            {
                "id": 9001,
                "kind": "sale",
                "status": "success",
                "amount": "115.02",
                "gateway": "shopify_payments",
            }
        ],
        "refunds": [
            {
                "id": 7001,
                "created_at": "2026-11-12T10:00:00-05:00",
                "refund_line_items": [
                    {"line_item_id": 111, "quantity": 1, "subtotal": "40.50", "total_tax": "3.24"}
                ],
                "transactions": [
                    {
                        "id": 9002,
                        "kind": "refund",
                        "status": "success",
                        "amount": "43.74",
                        "gateway": "shopify_payments",
                    }
                ],
                "order_adjustments": [],
            }
        ],
    }
