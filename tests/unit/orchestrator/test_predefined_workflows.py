"""decide(): the predefined workflows and the CLI demo workflow, with an executor that answers plausibly."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from flowbus_orchestrator.domain.validation import parse_definition
from tests.unit.orchestrator.builders import executor, predefined, started
from tests.unit.orchestrator.harness import EPOCH

TICKET = {
    "text": "my invoice is wrong",
    "customer_email": "c@example.com",
    "ticket_status_url": "https://t/1",
}


def nlu_ticket(priority: str, category: str) -> dict[str, Any]:
    return {
        "intent": "fix invoice",
        "entities": {},
        "sentiment": "negative",
        "priority": priority,
        "category": category,
    }


class TestPredefinedWorkflows:
    def test_customer_support_escalates_an_urgent_ticket(self) -> None:
        h = started(predefined("customer_support_automation"), TICKET)
        h.run_executor(executor(nlu_ticket("urgent", "technical")))
        assert h.requested_steps() == ["analyze_ticket", "escalate_manager", "create_asana_task"]
        assert h.request("escalate_manager").config["message"] == (
            "@manager urgent ticket from c@example.com: fix invoice"
        )
        assert h.state.status == "completed"
        h.replay_matches()

    @pytest.mark.parametrize(
        ("category", "steps"),
        [
            ("technical", ["assign_technical", "send_acknowledgment"]),
            ("billing", ["assign_billing", "create_billing_task"]),
        ],
    )
    def test_customer_support_routes_by_category(self, category: str, steps: list[str]) -> None:
        h = started(predefined("customer_support_automation"), TICKET)
        h.run_executor(executor(nlu_ticket("normal", category)))
        assert h.requested_steps() == ["analyze_ticket", *steps]
        assert h.state.status == "completed"
        h.replay_matches()

    @pytest.mark.parametrize(
        ("status", "last"), [("resolved", "send_satisfaction_survey"), ("open", "escalate_again")]
    )
    def test_customer_support_follows_up_a_general_ticket_after_a_day(self, status: str, last: str) -> None:
        h = started(predefined("customer_support_automation"), TICKET)
        answer = executor(nlu_ticket("normal", "general"), ticket_status=status)
        h.run_executor(answer)
        assert h.requested_steps() == ["analyze_ticket", "create_asana_task", "send_acknowledgment"]
        assert h.of("join.completed")[0]["step_id"] == "assign_general"
        assert h.state.status == "running"
        assert h.timer("follow_up_reminder", "delay").fire_at == EPOCH + timedelta(hours=24)
        h.fire("follow_up_reminder", "delay")
        assert h.request("fetch_ticket_status").config == {"method": "GET", "url": "https://t/1"}
        h.run_executor(answer)
        assert h.requested_steps()[-2:] == ["fetch_ticket_status", last]
        assert h.state.status == "completed"
        h.replay_matches()

    def test_sales_lead_high_score(self) -> None:
        h = started(
            predefined("sales_lead_processing"), {"text": "we want 500 seats", "email": "l@example.com"}
        )
        h.run_executor(executor({"contact_info": {}, "score": 90}))
        assert h.requested_steps() == [
            "analyze_lead",
            "notify_sales_rep",
            "create_crm_task",
            "schedule_demo",
            "send_welcome_email",
        ]
        assert h.request("notify_sales_rep").config["message"] == "Hot lead (90): l@example.com"
        assert h.state.status == "completed"
        h.replay_matches()

    def test_sales_lead_medium_score(self) -> None:
        h = started(predefined("sales_lead_processing"), {"text": "maybe", "email": "l@example.com"})
        h.run_executor(executor({"contact_info": {}, "score": 60}))
        assert h.requested_steps() == ["analyze_lead", "medium_priority_routing", "create_crm_task"]
        assert h.state.status == "completed"
        h.replay_matches()

    def test_sales_lead_low_score(self) -> None:
        h = started(predefined("sales_lead_processing"), {"text": "just looking", "email": "l@example.com"})
        h.run_executor(executor({"contact_info": {}, "score": 10}))
        assert h.requested_steps() == ["analyze_lead", "low_priority_routing"]
        assert h.state.status == "running"
        h.fire("create_follow_up_task", "delay")
        assert h.now == EPOCH + timedelta(days=7)
        assert h.state.status == "completed"
        h.replay_matches()

    def test_project_management_with_five_daily_standups(self) -> None:
        h = started(predefined("project_management_automation"), {"text": "build the portal"})
        nlu = {
            "project_name": "Portal",
            "scope": "customer portal",
            "milestones": ["design", "launch"],
            "stakeholders_email": "pm@example.com",
        }
        h.run_executor(executor(nlu))
        assert h.requested_steps() == [
            "analyze_project_request",
            "setup_asana_project",
            "create_slack_channel",
            "setup_repository",
            "notify_stakeholders",
            "schedule_kickoff_meeting",
        ]
        assert h.request("notify_stakeholders").config["recipient"] == "pm@example.com"
        for day in range(1, 6):
            assert h.state.status == "running"
            h.fire("setup_daily_standup", "delay")
            assert h.now == EPOCH + timedelta(days=day)
        assert h.state.status == "completed"
        assert h.types().count("step.waiting") == 5
        assert h.state.steps["setup_daily_standup"].visits == 5
        assert h.timers == {}
        h.replay_matches()

    def test_contract_processing(self) -> None:
        h = started(predefined("contract_processing_automation"), {"text": "The supplier shall ..."})
        nlu = {
            "tasks": ["deliver monthly report", "renew insurance"],
            "renewal_date": "2026-03-01",
            "owner": "legal@example.com",
            "summary": "supply contract",
            "entities": {"contract_id": "C-42"},
        }
        h.run_executor(executor(nlu))
        assert h.request("log_obligations").config == {
            "update_type": "obligation",
            "subject": "C-42",
            "facts": ["deliver monthly report", "renew insurance"],
        }
        assert h.request("create_reminders").config == {
            "title": "Contract Renewal: C-42",
            "due_date": "2026-03-01",
            "assignee": "legal@example.com",
        }
        assert h.state.status == "completed"
        h.replay_matches()

    def test_shopify_to_ledger_sync(self) -> None:
        order = {"order_id": 1001, "order_number": "#1001", "total_price": "19.99"}
        h = started(predefined("shopify_to_ledger_sync"), order)
        h.run_executor(executor({}))
        assert h.request("ledger_mapping").config == {"order": order}
        assert h.request("notify_success").config["message"] == "Order #1001 synced to ledger for 19.99"
        assert h.state.status == "completed"
        h.replay_matches()


DEMO_FILE = Path(__file__).resolve().parents[3] / "services" / "cli" / "flowbus_cli" / "demo_workflow.yaml"


class TestDemoWorkflow:
    DEMO = parse_definition(yaml.safe_load(DEMO_FILE.read_text()))
    ORDER = {"customer": "Ada", "items": ["lamp", "desk"]}

    def test_a_large_order_waits_for_a_manager_then_is_fulfilled(self) -> None:
        h = started(self.DEMO, {**self.ORDER, "total": 1500})
        h.run_executor(executor({}))
        assert h.state.status == "waiting_approval"
        assert h.state.variables["order"] == {"customer": "Ada", "total": 1500, "items": ["lamp", "desk"]}
        assert h.timer("manager_approval", "approval-expiry").fire_at == EPOCH + timedelta(hours=1)
        h.approve("manager_approval", by="manager")
        h.run_executor(executor({}))
        assert h.requested_steps() == ["normalize_order", "reserve_stock", "prepare_invoice"]
        h.fire("cool_down", "delay")
        h.run_executor(executor({}))
        assert h.state.steps["summary"].output == {"message": 'Ada: 1500 invoiced, items ["lamp","desk"]'}
        assert h.state.status == "completed"
        h.replay_matches()

    def test_a_small_order_takes_the_fast_track(self) -> None:
        h = started(self.DEMO, {**self.ORDER, "total": 20})
        h.run_executor(executor({}))
        assert h.requested_steps() == ["normalize_order", "fast_track", "reserve_stock", "prepare_invoice"]
        assert "manager_approval" not in h.state.steps
        h.fire("cool_down", "delay")
        h.run_executor(executor({}))
        assert h.state.status == "completed"
        h.replay_matches()
