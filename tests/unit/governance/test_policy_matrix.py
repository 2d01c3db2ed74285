"""The decision matrix, like `opa test`: every status x complexity x require_approval, spelled out.

Actions come from the default policy, one per complexity: search (1), draft (2), send_email (3),
delete (4). The expected verdicts are written by hand, not computed from the rules.
"""

from __future__ import annotations

from typing import cast

import pytest

from flowbus_governance.domain.agents import AgentStatus
from flowbus_governance.domain.decide import AgentView, Verdict, decide
from flowbus_governance.domain.policy import Policy, classify, default_policy

ACTION_BY_COMPLEXITY = {1: "search", 2: "draft", 3: "send_email", 4: "delete"}

A, D, R = "allow", "deny", "approval_required"

# (status, complexity, require_approval) -> verdict
MATRIX: list[tuple[str, int, bool, str]] = [
    ("student", 1, False, A),
    ("student", 2, False, D),
    ("student", 3, False, D),
    ("student", 4, False, D),
    ("student", 1, True, R),
    ("student", 2, True, D),
    ("student", 3, True, D),
    ("student", 4, True, D),
    ("intern", 1, False, A),
    ("intern", 2, False, A),
    ("intern", 3, False, D),
    ("intern", 4, False, D),
    ("intern", 1, True, R),
    ("intern", 2, True, R),
    ("intern", 3, True, D),
    ("intern", 4, True, D),
    ("supervised", 1, False, A),
    ("supervised", 2, False, A),
    ("supervised", 3, False, R),
    ("supervised", 4, False, D),
    ("supervised", 1, True, R),
    ("supervised", 2, True, R),
    ("supervised", 3, True, R),
    ("supervised", 4, True, D),
    ("autonomous", 1, False, A),
    ("autonomous", 2, False, A),
    ("autonomous", 3, False, A),
    ("autonomous", 4, False, A),
    ("autonomous", 1, True, R),
    ("autonomous", 2, True, R),
    ("autonomous", 3, True, R),
    ("autonomous", 4, True, R),
    ("paused", 1, False, D),
    ("paused", 2, False, D),
    ("paused", 3, False, D),
    ("paused", 4, False, D),
    ("paused", 1, True, D),
    ("paused", 2, True, D),
    ("paused", 3, True, D),
    ("paused", 4, True, D),
    ("deprecated", 1, False, D),
    ("deprecated", 2, False, D),
    ("deprecated", 3, False, D),
    ("deprecated", 4, False, D),
    ("deprecated", 1, True, D),
    ("deprecated", 2, True, D),
    ("deprecated", 3, True, D),
    ("deprecated", 4, True, D),
]

# (status, action) -> verdict: names the monolith misread by substring.
MISCLASSIFIED: list[tuple[str, str, str]] = [
    ("student", "thread_delete", D),  # the monolith: "read" in the name -> complexity 1 -> allow
    ("intern", "thread_delete", D),
    ("supervised", "thread_delete", D),
    ("autonomous", "thread_delete", A),
    ("student", "read_and_delete", D),
    ("student", "bulk_delete_records_list", D),
    ("student", "readme", D),  # unknown: starts with "read" but no entry or pattern declares it
    ("autonomous", "readme", D),
    ("autonomous", "spreadsheet", D),
    ("student", "deleted_items_read", A),  # "*_read" only; no stricter pattern matches
    ("student", "undelete_everything_search", A),  # "*_search" only
    ("student", "contacts_search", A),
    ("supervised", "contact_create", R),
    ("intern", "invoice_payment", D),
]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return default_policy()


def view(status: str) -> AgentView:
    return AgentView(agent_id="agent-1", status=cast(AgentStatus, status), confidence=0.5)


def test_the_matrix_is_complete() -> None:
    statuses = ["student", "intern", "supervised", "autonomous", "paused", "deprecated"]
    expected = {(s, c, r) for s in statuses for c in (1, 2, 3, 4) for r in (False, True)}
    assert {(s, c, r) for s, c, r, _ in MATRIX} == expected
    assert len(MATRIX) == len(expected)


@pytest.mark.parametrize("complexity", [1, 2, 3, 4])
def test_matrix_actions_have_the_complexity_they_stand_for(policy: Policy, complexity: int) -> None:
    assert classify(policy, ACTION_BY_COMPLEXITY[complexity]) == complexity


@pytest.mark.parametrize(("status", "complexity", "require_approval", "verdict"), MATRIX)
def test_matrix(
    policy: Policy, status: str, complexity: int, require_approval: bool, verdict: Verdict
) -> None:
    action = ACTION_BY_COMPLEXITY[complexity]
    decision = decide(policy, view(status), action, require_approval=require_approval)
    assert decision.verdict == verdict, decision.reason
    assert decision.policy_version == policy.version


@pytest.mark.parametrize(("status", "action", "verdict"), MISCLASSIFIED)
def test_misclassification_cases_through_decide(
    policy: Policy, status: str, action: str, verdict: Verdict
) -> None:
    assert decide(policy, view(status), action).verdict == verdict


def test_a_student_deleting_a_thread_is_denied_for_maturity_not_read_as_a_read(policy: Policy) -> None:
    decision = decide(policy, view("student"), "thread_delete")
    assert decision.verdict == "deny"
    assert (decision.complexity, decision.required_maturity) == (4, "autonomous")
    assert decision.reason == (
        "action 'thread_delete' (complexity 4) requires maturity autonomous or above; agent agent-1 is student"
    )
