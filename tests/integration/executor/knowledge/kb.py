"""A small company knowledge base: customers, their contracts and account managers, the
products the contracts cover, the teams owning them and the people leading those."""

from __future__ import annotations

from typing import Any

FACTS: list[dict[str, Any]] = [
    {"subject": "Acme Corp", "predicate": "industry", "object": "manufacturing", "source": "hubspot"},
    {"subject": "Acme Corp", "predicate": "account_manager", "object": "Dana Lee", "source": "hubspot"},
    {
        "subject": "Acme Corp",
        "predicate": "signed",
        "object": "Contract CTR-2024-017",
        "source": "salesforce",
    },
    {
        "subject": "Contract CTR-2024-017",
        "predicate": "covers",
        "object": "Flowbus Cloud",
        "source": "salesforce",
    },
    {
        "subject": "Contract CTR-2024-017",
        "predicate": "renewal_date",
        "object": "2025-03-31",
        "source": "salesforce",
    },
    {
        "subject": "Contract CTR-2024-017",
        "predicate": "annual_value",
        "object": "120000 USD",
        "source": "salesforce",
    },
    {"subject": "Flowbus Cloud", "predicate": "owned_by", "object": "Platform Team", "source": "notion"},
    {"subject": "Platform Team", "predicate": "led_by", "object": "Priya Raman", "source": "notion"},
    {"subject": "Priya Raman", "predicate": "reports_to", "object": "Marcus Chen", "source": "notion"},
    {"subject": "Dana Lee", "predicate": "works_in", "object": "Sales", "source": "bamboohr"},
    {"subject": "Globex", "predicate": "industry", "object": "logistics", "source": "hubspot"},
    {"subject": "Globex", "predicate": "account_manager", "object": "Sam Ortiz", "source": "hubspot"},
    {"subject": "Globex", "predicate": "signed", "object": "Contract CTR-2023-044", "source": "salesforce"},
    {
        "subject": "Contract CTR-2023-044",
        "predicate": "covers",
        "object": "Flowbus On-Prem",
        "source": "salesforce",
    },
    {"subject": "Initech", "predicate": "evaluating", "object": "Flowbus Cloud", "source": "hubspot"},
]


def triple(fact: dict[str, Any]) -> tuple[str, str, str]:
    return (fact["subject"], fact["predicate"], fact["object"])


HUBSPOT_ACME: dict[str, Any] = {
    "source_system": "hubspot",
    "record_type": "company",
    "record_id": "9001",
    "title": "Acme Corp",
    "body": {
        "domain": "acme.example",
        "city": "Springfield",
        "industry": "Manufacturing",
        "lifecyclestage": "customer",
        "notes": ["Renewal talks start in January", "Wants SSO for the shop floor"],
    },
    "updated_at": "2025-01-10T09:30:00Z",
}
SALESFORCE_ACME: dict[str, Any] = {
    "source_system": "salesforce",
    "record_type": "Account",
    "record_id": "001Ax00000AcmeQ",
    "title": "ACME Corp.",
    "body": {
        "Website": "acme.example",
        "BillingCity": "Springfield",
        "Industry": "Manufacturing",
        "Type": "Customer",
        "Description": ["Renewal talks start in January", "Wants SSO for the shop floor"],
    },
}
SALESFORCE_RENEWAL: dict[str, Any] = {
    "source_system": "salesforce",
    "record_type": "Opportunity",
    "record_id": "006Ax00000Renew",
    "title": "Acme Corp renewal 2025",
    "body": {"StageName": "Negotiation", "Amount": 132000, "CloseDate": "2025-03-15", "Owner": "Dana Lee"},
}
ZENDESK_TICKET: dict[str, Any] = {
    "source_system": "zendesk",
    "record_type": "ticket",
    "record_id": "48213",
    "title": "SSO login fails for shop floor tablets",
    "body": {"requester": "ops@acme.example", "priority": "high", "status": "open"},
}
RECORDS = [HUBSPOT_ACME, SALESFORCE_ACME, SALESFORCE_RENEWAL, ZENDESK_TICKET]
