"""The monolith's five predefined workflows, started by their trigger events and run end to
end through Kafka and PostgreSQL; the NLU and integration steps answer from test workers.
Delays are shortened to 0.2 s here (the unit tests check their real durations)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from flowbus_orchestrator.handlers import execution_id_for
from flowbus_orchestrator.predefined import predefined_workflows
from flowbus_shared.schemas import StepRequest, TriggerEvent
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import TRIGGERS
from tests.support.system import TestSteps, running_system

STEP_TYPES = [
    "nlu_analysis",
    "slack_notification",
    "asana_integration",
    "email_send",
    "api_call",
    "knowledge_update",
    "task_creation",
    "ecommerce_sync",
    "data_transformation",
]


async def nlu(request: StepRequest) -> dict[str, Any]:
    text = str(request.config.get("text_input", ""))
    score = re.search(r"score:(\d+)", text)
    return {
        "intent": "help request",
        "priority": "urgent" if "urgent" in text else "normal",
        "category": "billing" if "invoice" in text else "general",
        "score": int(score.group(1)) if score else 0,
        "confidence": 0.93,
        "entities": {"contract_id": "C-17"},
        "tasks": ["deliver monthly report"],
        "renewal_date": "2027-01-31",
        "owner": "legal@example.com",
        "summary": "a contract",
        "project_name": "atlas",
        "scope": "a new site",
        "stakeholders_email": "team@example.com",
        "contact_info": {"email": "lead@example.com"},
    }


async def api_call(request: StepRequest) -> dict[str, Any]:
    if request.step_id == "fetch_ticket_status":
        return {"status": 200, "body": {"status": "resolved"}}
    return {"status": 200, "body": {"ok": True}}


def shortened(definition: Any) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(definition.model_dump(mode="json"))
    for step in data["steps"].values():
        if step["type"] == "delay":
            step["config"] = {"delay_seconds": 0.2}
    return data


CASES = [
    (
        "customer_support_automation",
        {
            "text": "urgent: site down",
            "customer_email": "c@example.com",
            "ticket_status_url": "http://tickets.invalid/1",
        },
        {"escalate_manager", "create_asana_task"},
        {"assign_general", "send_satisfaction_survey"},
    ),
    (
        "customer_support_automation",
        {
            "text": "question",
            "customer_email": "c@example.com",
            "ticket_status_url": "http://tickets.invalid/2",
        },
        {
            "assign_general",
            "create_asana_task",
            "send_acknowledgment",
            "follow_up_reminder",
            "check_resolution",
            "send_satisfaction_survey",
        },
        {"escalate_manager", "escalate_again"},
    ),
    (
        "project_management_automation",
        {"text": "build atlas"},
        {
            "setup_asana_project",
            "create_slack_channel",
            "setup_repository",
            "notify_stakeholders",
            "schedule_kickoff_meeting",
            "setup_daily_standup",
        },
        set(),
    ),
    (
        "sales_lead_processing",
        {"text": "score:90", "email": "a@example.com"},
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
        "sales_lead_processing",
        {"text": "score:60", "email": "b@example.com"},
        {"medium_priority_routing", "create_crm_task"},
        {"high_priority_routing", "low_priority_routing"},
    ),
    (
        "sales_lead_processing",
        {"text": "score:10", "email": "c@example.com"},
        {"low_priority_routing", "create_follow_up_task"},
        {"high_priority_routing", "medium_priority_routing"},
    ),
    (
        "contract_processing_automation",
        {"text": "contract C-17 ..."},
        {"log_obligations", "create_reminders"},
        set(),
    ),
    (
        "shopify_to_ledger_sync",
        {"order_id": 5, "order_number": "1001", "total_price": "25.00"},
        {"ledger_mapping", "notify_success"},
        set(),
    ),
]


@pytest.mark.parametrize(("workflow_id", "payload", "ran", "skipped"), CASES)
async def test_predefined_workflow_end_to_end(
    system_settings: FlowbusSettings,
    topic_prefix: str,
    workflow_id: str,
    payload: dict[str, Any],
    ran: set[str],
    skipped: set[str],
) -> None:
    steps = TestSteps({"nlu_analysis": nlu, "api_call": api_call})
    definition = next(d for d in predefined_workflows() if d.id == workflow_id)
    async with running_system(system_settings, steps, STEP_TYPES) as system:
        await system.register(shortened(definition))
        trigger = TriggerEvent(
            event_type=definition.triggers[0],
            payload=payload,
            workflow_id=workflow_id,
            idempotency_key=f"{topic_prefix}-{workflow_id}",
        )
        await system.context.bus.publish(TRIGGERS, trigger)
        state = await system.wait_for_status(execution_id_for(trigger, workflow_id), "completed", "failed")
        assert state.status == "completed", state.error
        succeeded = {step_id for step_id, run in state.steps.items() if run.status == "succeeded"}
        assert ran <= succeeded
        assert not skipped & succeeded
        if workflow_id == "project_management_automation":
            assert state.steps["setup_daily_standup"].visits == 5
        if workflow_id == "shopify_to_ledger_sync":
            notify = next(r for rs in steps.received.values() for r in rs if r.step_id == "notify_success")
            assert notify.config["message"] == "Order 1001 synced to ledger for 25.00"
        replayed = await system.orchestrator.engine.replay(state.execution_id)
        assert replayed.to_dict() == state.to_dict()
