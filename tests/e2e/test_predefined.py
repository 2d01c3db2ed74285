"""The five predefined workflows, each started by a hand-written JSON trigger on the triggers
topic, run to completion through the four service processes: the LLM double answers the NLU,
and Slack, Asana, SMTP and the HTTP doubles receive the calls the workflow makes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from flowbus_orchestrator.domain.state import ExecutionState
from tests.e2e.conftest import E2E
from tests.integration.executor.finance.fixtures import shopify_order
from tests.support.e2e_doubles import ASANA_PROJECTS
from tests.support.e2e_workflows import (
    execution_of,
    output,
    register,
    send_trigger,
    shortened,
    succeeded,
    trigger,
    wait_for,
)


async def run(e2e: E2E, workflow_id: str, payload: dict[str, Any]) -> ExecutionState:
    """Register the workflow (delays shortened), publish its trigger, wait for the end."""
    definition = shortened(workflow_id)
    await register(e2e.system, definition)
    sent = trigger(definition["triggers"][0], payload)
    await send_trigger(e2e.system, e2e.producer, sent)
    execution = await wait_for(e2e.system, execution_of(sent, workflow_id))
    assert execution.status == "completed", execution.error
    assert execution.workflow_id == workflow_id
    return execution


def llm_request_about(e2e: E2E, marker: str) -> dict[str, Any]:
    (body,) = [
        r.body
        for r in list(e2e.llm.requests)
        if isinstance(r.body, dict) and any(marker in str(m.get("content")) for m in r.body["messages"])
    ]
    return body


@pytest.mark.parametrize(
    ("directives", "ticket", "ran", "not_ran"),
    [
        (
            "priority=urgent; category=technical; intent=site outage",
            "resolved",
            {"escalate_manager", "create_asana_task"},
            {"assign_technical", "assign_general", "follow_up_reminder"},
        ),
        (
            "priority=normal; category=general; intent=password question",
            "resolved",
            {
                "assign_general",
                "create_asana_task",
                "send_acknowledgment",
                "fetch_ticket_status",
                "send_satisfaction_survey",
            },
            {"escalate_manager", "escalate_again"},
        ),
        (
            "priority=low; category=general; intent=password question",
            "open",
            {"assign_general", "follow_up_reminder", "fetch_ticket_status", "escalate_again"},
            {"send_satisfaction_survey"},
        ),
        (
            "priority=high; category=billing; intent=double charge",
            "resolved",
            {"assign_billing", "create_billing_task"},
            {"assign_general", "escalate_manager"},
        ),
    ],
    ids=["urgent", "general-resolved", "general-still-open", "billing"],
)
async def test_customer_support_automation(
    running: E2E, uid: str, directives: str, ticket: str, ran: set[str], not_ran: set[str]
) -> None:
    customer = f"c-{uid}@example.com"
    text = f"Ticket {uid}: help please. {directives}"
    running.doubles.apis_state.ticket_status[uid] = ticket
    execution = await run(
        running,
        "customer_support_automation",
        {
            "text": text,
            "customer_email": customer,
            "ticket_status_url": f"{running.doubles.apis.url}/tickets/{uid}",
        },
    )
    assert ran <= succeeded(execution)
    assert not (not_ran & set(execution.steps))
    analysis = output(execution, "analyze_ticket")
    assert analysis["provider"] == "openai"  # the double, reached through the llm-gateway
    schema = llm_request_about(running, uid)["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["priority"]["enum"] == ["urgent", "high", "normal", "low"]
    assert schema["properties"]["category"]["enum"] == ["technical", "billing", "general"]

    doubles = running.doubles
    intent = analysis["intent"]
    if "escalate_manager" in ran:
        assert doubles.slack_texts(customer) == [
            f"*Urgent ticket*\n@manager urgent ticket from {customer}: {intent}"
        ]
    if "create_asana_task" in ran:
        (task,) = doubles.asana_tasks(uid)
        assert task["projects"] == [ASANA_PROJECTS["Customer Support"]]
        assert (task["name"], task["notes"], task["assignee"]) == (intent, text, "support_team")
    if "send_acknowledgment" in ran:
        subjects = [m["Subject"] for m in doubles.inbox.to(customer)]
        assert "We received your request" in subjects
    if "fetch_ticket_status" in ran:
        assert [r.method for r in doubles.api_requests(f"/tickets/{uid}")] == ["GET"]
        assert output(execution, "fetch_ticket_status")["body"] == {"id": uid, "status": ticket}
    if "send_satisfaction_survey" in ran:
        assert [m["Subject"] for m in doubles.inbox.to(customer)].count("How did we do?") == 1
    if "escalate_again" in ran:
        assert doubles.slack_texts(customer) == [f"Ticket from {customer} is still open after 24 hours"]
    if "assign_billing" in ran:
        (forwarded,) = [m for m in doubles.inbox.to("finance@company.com") if customer in str(m["Subject"])]
        assert forwarded["Subject"] == f"Billing ticket from {customer}"
        (task,) = doubles.asana_tasks(uid)
        assert (task["projects"], task["assignee"]) == ([ASANA_PROJECTS["Billing"]], "finance_team")


async def test_project_management_automation(running: E2E, uid: str) -> None:
    stakeholders = f"team-{uid}@example.com"
    text = (
        f"Please set up our relaunch. project_name=Website Relaunch; scope=a new marketing site {uid}; "
        f'milestones=["design", "build", "launch"]; stakeholders_email={stakeholders}'
    )
    execution = await run(running, "project_management_automation", {"text": text})
    assert execution.steps["setup_daily_standup"].visits == 5  # the bounded daily recurrence
    doubles = running.doubles
    scope = f"a new marketing site {uid}"
    (task,) = doubles.asana_tasks(uid)
    assert task["projects"] == [ASANA_PROJECTS["Website Relaunch"]]
    assert (task["name"], task["notes"]) == ("Kick-off: Website Relaunch", scope)
    assert doubles.slack_texts(uid) == [f"New project Website Relaunch: {scope}"]
    (kickoff,) = doubles.inbox.to(stakeholders)
    assert kickoff["Subject"] == "Project Website Relaunch has started"
    assert f"Scope: {scope}" in kickoff.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # The GitHub and calendar connectors (api_call's {service, action} form), with the attempt's key.
    repo = output(execution, "setup_repository")
    meeting = output(execution, "schedule_kickoff_meeting")
    assert (repo["status"], repo["body"]["request"]) == (201, {"name": "Website Relaunch"})
    assert meeting["body"]["request"] == {"title": "Kick-off: Website Relaunch", "duration_minutes": 60}
    keys = {r.headers.get("Idempotency-Key") for r in doubles.api_requests("/github/")}
    assert f"{execution.execution_id}:setup_repository:1" in keys
    assert all(
        r.headers.get("Authorization") == "Bearer ghp_e2e0000connector0000token"
        for r in doubles.api_requests("/github/")
    )
    assert urlsplit(doubles.api_requests("/calendar/")[0].path).path == "/calendar/meetings"


@pytest.mark.parametrize(
    ("score", "ran", "not_ran"),
    [
        (
            90,
            {
                "high_priority_routing",
                "notify_sales_rep",
                "create_crm_task",
                "schedule_demo",
                "send_welcome_email",
            },
            {"medium_priority_routing", "low_priority_routing"},
        ),
        (
            60,
            {"medium_priority_routing", "create_crm_task"},
            {"high_priority_routing", "low_priority_routing"},
        ),
        (
            10,
            {"low_priority_routing", "create_follow_up_task"},
            {"high_priority_routing", "medium_priority_routing"},
        ),
    ],
    ids=["hot", "warm", "cold"],
)
async def test_sales_lead_processing(
    running: E2E, uid: str, score: int, ran: set[str], not_ran: set[str]
) -> None:
    lead = f"lead-{uid}@example.com"
    text = f'Interested in a demo. score={score}; contact_info={{"email": "{lead}"}}'
    execution = await run(running, "sales_lead_processing", {"text": text, "email": lead})
    assert ran <= succeeded(execution)
    assert not (not_ran & set(execution.steps))
    assert execution.variables["score"] == score
    doubles = running.doubles
    subjects = sorted(str(m["Subject"]) for m in doubles.inbox.to(lead))
    tasks = doubles.asana_tasks(lead)
    if score >= 80:
        assert doubles.slack_texts(lead) == [f"Hot lead ({score}): {lead}"]
        assert [(t["name"], t["projects"]) for t in tasks] == [
            (f"Follow up {lead}", [ASANA_PROJECTS["Sales"]])
        ]
        assert output(execution, "schedule_demo")["body"]["request"] == {
            "title": f"Demo for {lead}",
            "duration_minutes": 30,
        }
        assert subjects == ["Welcome"]
    elif score >= 50:
        assert subjects == ["A few ideas for you"]
        assert [t["name"] for t in tasks] == [f"Follow up {lead}"]
    else:
        assert subjects == ["Welcome to our newsletter"]
        assert tasks == []
        assert "waited_until" in output(execution, "create_follow_up_task")


async def test_contract_processing_automation(running: E2E, uid: str) -> None:
    contract = f"C-{uid}"
    owner = f"legal-{uid}@example.com"
    text = (
        f"Master services agreement {contract}. The supplier reports monthly and renews on 31 January 2027. "
        f'tasks=["deliver a monthly report {uid}", "keep insurance of 1M"]; renewal_date=2027-01-31; '
        f"owner={owner}; summary=an MSA; entities.contract_id={contract}"
    )
    execution = await run(running, "contract_processing_automation", {"text": text})
    body = llm_request_about(running, uid)
    assert body["messages"][0]["role"] == "system"
    assert "renewal_date" in body["messages"][0]["content"]  # the workflow's own system prompt
    stored = output(execution, "log_obligations")
    assert stored, "knowledge_update stored nothing"
    reminder = output(execution, "create_reminders")
    assert (reminder["system"], reminder["title"]) == ("asana", f"Contract Renewal: {contract}")
    (task,) = running.doubles.asana_tasks(contract)
    assert (task["name"], task["due_on"], task["assignee"]) == (
        f"Contract Renewal: {contract}",
        "2027-01-31",
        owner,
    )


async def test_shopify_to_ledger_sync(running: E2E, uid: str) -> None:
    order = shopify_order()
    number = int(uid[:8], 16)  # a new order every run: an order is booked once
    order |= {"id": number, "order_number": number, "name": f"#{number}"}
    execution = await run(running, "shopify_to_ledger_sync", order)
    booked = output(execution, "ledger_mapping")
    assert booked["order_id"] == str(number)
    assert [entry["kind"] for entry in booked["entries"]] == ["sale", "refund"]
    assert all(entry["posted_now"] for entry in booked["entries"])
    assert booked["summary"]["total"] == "115.02"
    assert running.doubles.slack_texts(str(number)) == [f"Order {number} synced to ledger for 115.02"]
