"""decide(): approvals, confidence thresholds and cancellation, each checked against replay."""

from __future__ import annotations

from datetime import timedelta

from flowbus_orchestrator.domain.progression import timer_id
from tests.unit.orchestrator.builders import APPROVAL, define, started, step
from tests.unit.orchestrator.harness import EPOCH


class TestApproval:
    def test_approval_waits_and_approve_continues(self) -> None:
        h = started(APPROVAL)
        assert h.state.status == "waiting_approval"
        assert h.pending == []
        (asked,) = h.of("approval.requested")
        assert asked["reason"] == "big order"
        assert asked["expires_at"] == (EPOCH + timedelta(seconds=60)).isoformat()
        h.approve("ask", by="boss")
        assert h.state.status == "running"
        assert h.state.steps["ask"].output == {"approved_by": "boss", "comment": ""}
        assert h.last.cancel_timers == [timer_id("ex-1", "ask", 1, "approval-expiry")]
        h.succeed("b")
        assert h.state.status == "completed"
        h.replay_matches()

    def test_reject_fails_with_the_reason(self) -> None:
        h = started(APPROVAL)
        h.reject("ask", reason="too expensive")
        assert h.state.status == "failed"
        assert h.state.error is not None
        assert h.state.error["message"] == "too expensive"
        assert h.state.error["error_type"] == "rejected"
        assert h.of("approval.rejected")[0]["by"] == "ana"
        assert "b" not in h.requested_steps()
        h.replay_matches()

    def test_an_expired_approval_fails(self) -> None:
        h = started(APPROVAL)
        h.fire("ask", "approval-expiry")
        assert h.now == EPOCH + timedelta(seconds=60)
        assert h.state.status == "failed"
        assert (h.state.error or {}).get("error_type") == "approval_expired"
        assert h.of("approval.rejected")[0]["by"] == "system"
        h.replay_matches()

    def test_an_approval_without_expiry_sets_no_timer(self) -> None:
        h = started(define(step("ask", "approval_required")))
        assert h.timers == {}
        assert h.of("approval.requested")[0]["expires_at"] is None

    def test_approving_a_step_that_is_not_waiting_is_rejected(self) -> None:
        h = started(APPROVAL)
        decision = h.approve("b")
        assert [kind for kind, _ in decision.events] == ["command.rejected"]
        assert h.state.status == "waiting_approval"
        h.replay_matches()

    def test_low_confidence_waits_for_approval(self) -> None:
        definition = define(step("guess", "nlu_analysis", "b", confidence_threshold=0.8), step("b"))
        h = started(definition)
        h.succeed("guess", {"intent": "refund"}, confidence=0.5)
        assert h.state.status == "waiting_approval"
        assert h.of("approval.requested")[0]["reason"] == "confidence 0.50 is below 0.80"
        assert h.pending == []
        h.approve("guess")
        assert h.state.steps["guess"].status == "succeeded"
        assert h.state.steps["guess"].output == {"intent": "refund"}
        assert h.pending_steps() == ["b"]
        h.succeed("b")
        assert h.state.status == "completed"
        h.replay_matches()

    def test_enough_confidence_goes_straight_on(self) -> None:
        definition = define(step("guess", "nlu_analysis", "b", confidence_threshold=0.8), step("b"))
        h = started(definition)
        h.succeed("guess", {"intent": "refund"}, confidence=0.9)
        assert "approval.requested" not in h.types()
        assert h.pending_steps() == ["b"]
        h.replay_matches()

    def test_low_confidence_rejected_fails(self) -> None:
        definition = define(step("guess", "nlu_analysis", "b", confidence_threshold=0.8), step("b"))
        h = started(definition)
        h.succeed("guess", {"intent": "refund"}, confidence=0.5)
        h.reject("guess", reason="wrong intent")
        assert h.state.status == "failed"
        assert (h.state.error or {}).get("message") == "wrong intent"
        h.replay_matches()


class TestCancel:
    def test_cancel_stops_everything_and_later_results_are_ignored(self) -> None:
        definition = define(
            step("p", "parallel_execution", parallel_steps=["a", "wait"]),
            step("a"),
            step("wait", "delay", config={"delay_seconds": 30}),
        )
        h = started(definition)
        h.cancel(reason="changed my mind")
        assert h.state.status == "cancelled"
        assert sorted(h.last.cancel_timers) == sorted(
            [timer_id("ex-1", "a", 1, "step-timeout"), timer_id("ex-1", "wait", 1, "delay")]
        )
        assert h.timers == {}
        assert h.state.active == {}
        assert sorted(a.step_id for a in h.state.suspended) == ["a", "wait"]
        assert (h.state.error or {}).get("message") == "changed my mind"
        decision = h.succeed("a")
        assert [kind for kind, _ in decision.events] == ["result.ignored"]
        assert h.state.status == "cancelled"
        assert [kind for kind, _ in h.cancel().events] == ["command.rejected"]
        h.replay_matches()


class TestGovernanceVerdicts:
    def test_approval_required_waits_for_governances_decision(self) -> None:
        h = started(define(step("check", "governance_check", "act"), step("act")))
        verdict = {"verdict": "approval_required", "reason": "supervised agent", "expires_in_seconds": 300}
        h.succeed("check", verdict)
        assert h.state.status == "waiting_approval"
        (asked,) = h.of("approval.requested")
        assert asked["reason"] == "supervised agent"
        # governance expires it at 300 s; the orchestrator's own timer is a later safety net
        assert asked["expires_at"] == (EPOCH + timedelta(seconds=360)).isoformat()
        assert h.pending == []
        h.approve("check", by="governance")
        assert h.pending_steps() == ["act"]
        h.succeed("act")
        assert h.state.status == "completed"
        h.replay_matches()

    def test_allow_goes_straight_on(self) -> None:
        h = started(define(step("check", "governance_check", "act"), step("act")))
        h.succeed("check", {"verdict": "allow", "reason": "autonomous agent"})
        assert "approval.requested" not in h.types()
        assert h.pending_steps() == ["act"]
        h.replay_matches()

    def test_a_rejection_by_governance_fails_the_step(self) -> None:
        h = started(define(step("check", "governance_check", "act"), step("act")))
        h.succeed(
            "check", {"verdict": "approval_required", "reason": "needs a human", "expires_in_seconds": 60}
        )
        h.reject("check", reason="approval expired")
        assert h.state.status == "failed"
        assert "act" not in h.requested_steps()
        h.replay_matches()

    def test_a_step_that_pauses_for_approval_runs_again_once_approved(self) -> None:
        h = started(define(step("agent", "agent_execution", "after"), step("after")))
        paused = {
            "verdict": "approval_required",
            "resume_after_approval": True,
            "reason": "send_email needs a person",
            "expires_in_seconds": 120,
        }
        h.succeed("agent", paused)
        assert h.state.status == "waiting_approval"
        h.approve("agent", by="governance")
        assert h.pending_steps() == ["agent"]  # attempt 2 of the same step, not the next one
        assert h.state.run("agent").attempt == 2
        h.succeed("agent", {"answer": "done"})
        assert h.pending_steps() == ["after"]
        h.succeed("after")
        assert h.state.status == "completed"
        h.replay_matches()
