"""Every step type, and the queue that runs it.

Logic types run inside the orchestrator; language-model types go to the
llm-gateway, permission checks to governance, everything else to the executor.
"""

from __future__ import annotations

from typing import Literal

Queue = Literal["orchestrator", "executor", "llm", "governance"]

LOGIC_TYPES = frozenset({"conditional_logic", "parallel_execution", "delay", "approval_required"})
LLM_TYPES = frozenset({"nlu_analysis", "llm_completion", "workflow_generation"})
# flowbus's own: ask governance whether an agent may take an action before it does, and
# report an agent step's outcome (its confidence follows), and register agents.
GOVERNANCE_TYPES = frozenset({"governance_check", "agent_outcome", "agent_register"})
EXECUTOR_TYPES = frozenset(
    {
        "task_creation",
        "email_send",
        "slack_notification",
        "asana_integration",
        "data_transformation",
        "api_call",
        "notion_integration",
        "gmail_fetch",
        "gmail_integration",
        "gmail_search",
        "notion_search",
        "notion_db_query",
        "app_search",
        "hubspot_integration",
        "salesforce_integration",
        "universal_integration",
        "knowledge_lookup",
        "knowledge_update",
        "system_reasoning",
        "invoice_processing",
        "ecommerce_sync",
        "agent_execution",
        "cost_leak_detection",
        "budget_check",
        "invoice_reconciliation",
        "background_agent_start",
        "background_agent_stop",
        "graphrag_query",
        "project_create",
        "project_status_sync",
        "contract_provision",
        "milestone_billing",
        "auto_staffing",
        "revenue_recognition",
        "retention_playbook",
        "business_agent_execution",
        "b2b_po_detection",
    }
)

STEP_TYPES = LOGIC_TYPES | LLM_TYPES | GOVERNANCE_TYPES | EXECUTOR_TYPES


def queue_of(step_type: str) -> Queue:
    if step_type in LOGIC_TYPES:
        return "orchestrator"
    if step_type in LLM_TYPES:
        return "llm"
    if step_type in GOVERNANCE_TYPES:
        return "governance"
    if step_type in EXECUTOR_TYPES:
        return "executor"
    raise KeyError(f"unknown step type {step_type!r}")
