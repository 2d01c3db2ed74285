"""The permission decision: each rule, its reason, and failing closed on evaluation errors."""

from __future__ import annotations

from typing import cast

import pytest

from flowbus_governance.domain.agents import AgentStatus
from flowbus_governance.domain.decide import REQUIRED_MATURITY, AgentView, Decision, decide
from flowbus_governance.domain.policy import Policy, load_policy

POLICY = load_policy(
    """
version: "t7"
actions:
  search: 1
  draft: 2
  send_email: 3
  delete: 4
patterns:
  - {pattern: "*_delete", complexity: 4}
"""
)


def agent(status: str, confidence: float = 0.8, agent_id: str = "a1") -> AgentView:
    return AgentView(agent_id=agent_id, status=cast(AgentStatus, status), confidence=confidence)


class ExplodingPolicy(Policy):
    """A policy whose classification fails: the decision must still be a deny."""

    def complexity_of(self, action: str) -> int | None:
        raise RuntimeError("boom")


def test_required_maturity_per_complexity() -> None:
    assert REQUIRED_MATURITY == {1: "student", 2: "intern", 3: "supervised", 4: "autonomous"}


def test_unknown_agent_is_denied() -> None:
    assert decide(POLICY, None, "search") == Decision(
        verdict="deny",
        reason="unknown agent",
        action="search",
        complexity=None,
        required_maturity=None,
        policy_version="t7",
        agent_status=None,
        agent_confidence=None,
    )


@pytest.mark.parametrize("status", ["paused", "deprecated"])
def test_paused_and_deprecated_agents_are_denied_with_the_status_in_the_reason(status: str) -> None:
    decision = decide(POLICY, agent(status, 0.95), "search")
    assert decision.verdict == "deny"
    assert decision.reason == f"agent a1 is {status}"
    assert (decision.agent_status, decision.agent_confidence) == (status, 0.95)


def test_an_action_outside_the_policy_is_denied_fail_closed() -> None:
    decision = decide(POLICY, agent("autonomous", 0.99), "launch_rockets")
    assert decision.verdict == "deny"
    assert decision.reason == "action 'launch_rockets' is not in policy t7"
    assert decision.complexity is None
    assert decision.required_maturity is None


@pytest.mark.parametrize("action", ["", "   ", "DELETE"])
def test_empty_blank_and_uppercase_actions_are_denied(action: str) -> None:
    assert decide(POLICY, agent("autonomous"), action).verdict == "deny"


def test_maturity_below_the_required_is_denied_and_both_maturities_are_named() -> None:
    decision = decide(POLICY, agent("intern", 0.6), "send_email")
    assert decision == Decision(
        verdict="deny",
        reason="action 'send_email' (complexity 3) requires maturity supervised or above; agent a1 is intern",
        action="send_email",
        complexity=3,
        required_maturity="supervised",
        policy_version="t7",
        agent_status="intern",
        agent_confidence=0.6,
    )


def test_supervised_agent_at_complexity_3_needs_approval() -> None:
    decision = decide(POLICY, agent("supervised", 0.75), "send_email")
    assert decision.verdict == "approval_required"
    assert decision.reason == (
        "action 'send_email' (complexity 3) by supervised agent a1 requires human approval"
    )
    assert (decision.complexity, decision.required_maturity) == (3, "supervised")


def test_supervised_agent_at_complexity_4_is_denied_not_merely_held_for_approval() -> None:
    decision = decide(POLICY, agent("supervised"), "delete")
    assert decision.verdict == "deny"
    assert decision.reason == (
        "action 'delete' (complexity 4) requires maturity autonomous or above; agent a1 is supervised"
    )
    assert decision.required_maturity == "autonomous"


def test_the_caller_may_require_approval_for_an_otherwise_allowed_action() -> None:
    decision = decide(POLICY, agent("autonomous", 0.95), "delete", require_approval=True)
    assert decision.verdict == "approval_required"
    assert decision.reason == "the caller requires approval for action 'delete' (complexity 4)"


def test_the_caller_requiring_approval_does_not_turn_a_deny_into_approval() -> None:
    assert decide(POLICY, agent("student"), "delete", require_approval=True).verdict == "deny"
    assert decide(POLICY, None, "search", require_approval=True).verdict == "deny"
    assert decide(POLICY, agent("student"), "nope", require_approval=True).verdict == "deny"


def test_allow_fills_every_field() -> None:
    decision = decide(POLICY, agent("student", 0.45), "search")
    assert decision == Decision(
        verdict="allow",
        reason="action 'search' (complexity 1, requires student) allowed for student agent",
        action="search",
        complexity=1,
        required_maturity="student",
        policy_version="t7",
        agent_status="student",
        agent_confidence=0.45,
    )
    assert decision.allowed


def test_patterns_reach_the_decision() -> None:
    decision = decide(POLICY, agent("autonomous"), "thread_delete")
    assert (decision.verdict, decision.complexity) == ("allow", 4)


def test_an_unknown_status_is_an_evaluation_error_and_denied() -> None:
    decision = decide(POLICY, agent("superuser", 0.99), "search")
    assert decision.verdict == "deny"
    assert decision.reason == "evaluation error: KeyError"
    assert (decision.policy_version, decision.agent_status, decision.agent_confidence) == (
        "t7",
        "superuser",
        0.99,
    )
    assert decision.complexity is None


def test_a_policy_that_raises_is_an_evaluation_error_and_denied() -> None:
    exploding = ExplodingPolicy.model_validate(POLICY.model_dump())
    decision = decide(exploding, agent("autonomous"), "search")
    assert decision.verdict == "deny"
    assert decision.reason == "evaluation error: RuntimeError"
    assert decision.policy_version == "t7"


def test_garbage_inputs_are_denied_and_the_error_decision_never_raises() -> None:
    decision = decide(cast(Policy, object()), cast(AgentView, object()), cast(str, None))
    assert decision.verdict == "deny"
    assert decision.reason == "evaluation error: AttributeError"
    assert (decision.action, decision.policy_version, decision.agent_status) == ("<NoneType>", "", None)
