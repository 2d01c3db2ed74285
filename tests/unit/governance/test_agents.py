"""Agent maturity thresholds and the confidence arithmetic."""

from __future__ import annotations

import math

import pytest

from flowbus_governance.domain.agents import (
    MATURITY_LEVELS,
    NEW_AGENT_CONFIDENCE,
    NEW_AGENT_STATUS,
    AgentStatus,
    ConfidenceChange,
    apply_outcome,
    check_confidence,
    confidence_after,
    maturity_for,
    maturity_rank,
    status_after,
)


def test_maturity_levels_are_ordered_weakest_first_and_held_statuses_have_no_rank() -> None:
    assert MATURITY_LEVELS == ("student", "intern", "supervised", "autonomous")
    assert [maturity_rank(level) for level in MATURITY_LEVELS] == [0, 1, 2, 3]
    assert maturity_rank("paused") is None
    assert maturity_rank("deprecated") is None


@pytest.mark.parametrize(
    ("confidence", "expected"),
    [
        (1.0, "autonomous"),
        (0.9, "autonomous"),
        (0.8999, "supervised"),
        (0.7, "supervised"),
        (0.6999, "intern"),
        (0.5, "intern"),
        (0.4999, "student"),
        (0.0, "student"),
    ],
)
def test_maturity_thresholds_at_the_boundaries(confidence: float, expected: AgentStatus) -> None:
    assert maturity_for(confidence) == expected


def test_new_agents_start_as_student_at_half_confidence_as_the_monolith_did() -> None:
    # 0.5 maps to intern, but the status is only recomputed when the confidence changes.
    assert (NEW_AGENT_STATUS, NEW_AGENT_CONFIDENCE) == ("student", 0.5)
    assert maturity_for(NEW_AGENT_CONFIDENCE) == "intern"


@pytest.mark.parametrize(
    ("success", "impact", "expected"),
    [
        (True, "high", 0.55),
        (False, "high", 0.4),
        (True, "low", 0.51),
        (False, "low", 0.48),
    ],
)
def test_confidence_deltas(success: bool, impact: str, expected: float) -> None:
    assert confidence_after(0.5, success=success, impact=impact) == expected  # type: ignore[arg-type]


def test_confidence_is_clamped_to_zero_and_one() -> None:
    assert confidence_after(0.98, success=True, impact="high") == 1.0
    assert confidence_after(1.0, success=True, impact="low") == 1.0
    assert confidence_after(0.05, success=False, impact="high") == 0.0
    assert confidence_after(0.0, success=False, impact="low") == 0.0


def test_many_small_steps_do_not_drift() -> None:
    value = 0.5
    for _ in range(20):
        value = confidence_after(value, success=True, impact="low")
    assert value == 0.7
    assert maturity_for(value) == "supervised"


def test_unknown_impact_is_rejected() -> None:
    with pytest.raises(ValueError, match="impact"):
        confidence_after(0.5, success=True, impact="medium")  # type: ignore[arg-type]


@pytest.mark.parametrize("held", ["paused", "deprecated"])
def test_paused_and_deprecated_are_never_overwritten_by_a_score_change(held: AgentStatus) -> None:
    assert status_after(held, 0.95) == held
    assert status_after(held, 0.1) == held
    change = apply_outcome(held, 0.89, success=True, impact="high")
    assert change == ConfidenceChange(0.89, 0.94, held, held)


def test_status_follows_the_score_otherwise() -> None:
    assert status_after("student", 0.72) == "supervised"
    assert status_after("autonomous", 0.3) == "student"


def test_apply_outcome_promotes_and_demotes() -> None:
    promoted = apply_outcome("supervised", 0.88, success=True, impact="high")
    assert promoted == ConfidenceChange(0.88, 0.93, "supervised", "autonomous")
    assert promoted.status_changed
    demoted = apply_outcome("autonomous", 0.9, success=False, impact="low")
    assert demoted == ConfidenceChange(0.9, 0.88, "autonomous", "supervised")


def test_new_agent_first_success_makes_it_intern_first_failure_keeps_it_student() -> None:
    assert (
        apply_outcome(NEW_AGENT_STATUS, NEW_AGENT_CONFIDENCE, success=True, impact="low").new_status
        == "intern"
    )
    assert (
        apply_outcome(NEW_AGENT_STATUS, NEW_AGENT_CONFIDENCE, success=False, impact="low").new_status
        == "student"
    )


def test_an_outcome_clamped_without_a_confidence_change_keeps_the_status() -> None:
    # A hand-set status is not recomputed when the score cannot move.
    change = apply_outcome("supervised", 1.0, success=True, impact="high")
    assert change == ConfidenceChange(1.0, 1.0, "supervised", "supervised")
    assert not change.status_changed


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0, 1])
def test_check_confidence_accepts_the_unit_interval(value: float) -> None:
    assert check_confidence(value) == float(value)


@pytest.mark.parametrize("value", [-0.0001, 1.0001, math.nan, math.inf, -math.inf])
def test_check_confidence_rejects_values_outside_the_unit_interval(value: float) -> None:
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        check_confidence(value)


@pytest.mark.parametrize("value", [True, "0.5", None])
def test_check_confidence_rejects_non_numbers(value: object) -> None:
    with pytest.raises(ValueError, match="must be a number"):
        check_confidence(value)  # type: ignore[arg-type]


def test_confidence_after_validates_its_input() -> None:
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        confidence_after(1.5, success=True, impact="low")
